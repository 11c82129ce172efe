"""Fires through the HTTP API against the same fires through the library, on PostgreSQL, with
32 concurrent clients each (`python -m bench.service`): throughput ratio and latency percentiles.

The library side is one process: 32 threads sharing one Engine, each firing ``submit`` on its
own instances. The API side is ``workflow serve --workers N`` (by default one per core, as
docs/service.md advises; uvicorn with the [web] extra's httptools/uvloop) and, in this
process, 32 threads each with a keep-alive connection (:class:`KeepAlive`, the cheapest
HTTP/1.1 client that reads every answer whole; ``--client http.client`` for the standard
library's) sending ``POST /api/v1/instances/{id}/fire`` with a bearer token. The sides run in
turns (library, API, library, ...) over fresh instances, so load on a shared machine hits them
alike; the figures are medians over the turns, with each turn's ratio and p99. Each turn also
records the CPU it cost per fire: the server processes' (and of it, their event loops': HTTP,
routing, parsing; the rest is the fires' worker threads) and this process's (the library's
threads in a library turn, the HTTP clients' in an API turn: they run on the same machine as
the server) and PostgreSQL's, when it runs on this machine (``postgres_ms``).
``--baseline CHECKOUT`` serves another checkout's service (its ``.venv``) in the same turns:
a before/after in one run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import httpx

from bench.common import postgres_database, quiet_logs
from bench.fire import CLERK, PAYLOAD, prepared_engine
from workflow import Engine
from workflow.accounts import create_token

CLIENTS = 32


def _percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _run_clients(
    ids: Sequence[int],
    fire: Callable[[int, Any], None],
    setup: Callable[[int], Any],
    teardown: Callable[[Any], None],
) -> tuple[float, list[float]]:
    """``fire(id, handle)`` over ``ids`` split among CLIENTS threads started together, each
    with its ``setup(index)`` handle: (fires per second, each fire's latency in seconds)."""
    shares = [list(ids[i::CLIENTS]) for i in range(CLIENTS)]
    latencies: list[list[float]] = [[] for _ in shares]
    barrier = threading.Barrier(CLIENTS + 1)
    errors: list[BaseException] = []

    def client(index: int) -> None:
        handle = setup(index)
        try:
            barrier.wait()
            for instance_id in shares[index]:
                started = time.perf_counter()
                fire(instance_id, handle)
                latencies[index].append(time.perf_counter() - started)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            teardown(handle)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    flat = [x for share in latencies for x in share]
    return len(flat) / elapsed, flat


def library_turn(engine: Engine, ids: Sequence[int]) -> tuple[float, list[float]]:
    def fire(instance_id: int, _: Any) -> None:
        engine.fire(instance_id, "submit", CLERK, payload=PAYLOAD)

    return _run_clients(ids, fire, lambda _: None, lambda _: None)


class KeepAlive:
    """One keep-alive HTTP/1.1 connection that writes each request whole and reads each answer
    whole (status line, headers, the ``Content-Length`` body), as ``http.client`` does but
    without building and parsing the headers through the email package: the clients share the
    server's two cores, so their cost is kept small (0.02 ms of CPU per request against
    ``http.client``'s 0.16, measured against a bare uvicorn app)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.authority = f"{host}:{port}"
        self.pending = b""

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send ``request``; the answer's status and body."""
        self.sock.sendall(request)
        while (end := self.pending.find(b"\r\n\r\n")) < 0:
            self._receive()
        head = self.pending[:end].lower()
        start = head.find(b"\r\ncontent-length:")
        if not head.startswith(b"http/1.1 ") or start < 0:
            raise RuntimeError(f"not an HTTP/1.1 answer with a length: {head[:300]!r}")
        start += len(b"\r\ncontent-length:")
        stop = head.find(b"\r\n", start)
        length = int(head[start : stop if stop >= 0 else len(head)])
        whole = end + 4 + length
        while len(self.pending) < whole:
            self._receive()
        body, self.pending = self.pending[end + 4 : whole], self.pending[whole:]
        return int(head[9:12]), body

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        self.pending += chunk

    def close(self) -> None:
        self.sock.close()


def api_turn(
    base: str, token: str, ids: Sequence[int], client: str = "keep-alive"
) -> tuple[float, list[float]]:
    """Each client a keep-alive connection to the server at ``base``:
    :class:`KeepAlive` or (``client="http.client"``) the standard library's client."""
    body = json.dumps({"trigger": "submit", "payload": PAYLOAD}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    host, port = base.removeprefix("http://").split(":")

    def connect(_: int) -> Any:
        if client == "http.client":
            return http.client.HTTPConnection(host, int(port), timeout=60)
        return KeepAlive(host, int(port))

    def request(instance_id: int, authority: str) -> bytes:
        lines = [f"POST /api/v1/instances/{instance_id}/fire HTTP/1.1", f"Host: {authority}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"Content-Length: {len(body)}", "", ""]
        return "\r\n".join(lines).encode() + body

    def fire(instance_id: int, connection: Any) -> None:
        if isinstance(connection, KeepAlive):
            status, text = connection.exchange(request(instance_id, connection.authority))
        else:
            connection.request("POST", f"/api/v1/instances/{instance_id}/fire", body, headers)
            answer = connection.getresponse()
            status, text = answer.status, answer.read()
        if status != 200:
            raise RuntimeError(f"fire {instance_id}: {status} {text[:300]!r}")

    return _run_clients(ids, fire, connect, lambda c: c.close())


def _stat(path: str) -> tuple[str, list[str]] | None:
    """A ``/proc/.../stat`` file: the command's name and the fields after it (None when gone,
    or elsewhere than Linux)."""
    try:
        with open(path) as stat:
            text = stat.read()
    except OSError:
        return None
    name, _, rest = text.partition("(")[2].rpartition(")")
    return name, rest.split()


def _cpu_seconds(pid: int, thread: int | None = None, *, ended: bool = False) -> float | None:
    """The CPU time (user + system) process ``pid`` (or its ``thread``) has used, from /proc
    (None elsewhere); ``ended``: with its ended children's, which it waited for."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    found = _stat(path)
    if found is None:
        return None
    fields = found[1][11 : 15 if ended else 13]  # utime stime [cutime cstime]
    return sum(int(f) for f in fields) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(
    url: str, checkout: str | None = None, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    """``workflow serve --workers N`` on a free port; ``checkout``: another checkout's (its
    ``.venv``), served beside this one to compare two versions of the service in the same
    turns."""
    port = _free_port()
    python = sys.executable if checkout is None else os.path.join(checkout, ".venv/bin/python")
    process = subprocess.Popen(
        [python, "-c", "from cli.main import main; main()", "--db", url, "serve",
         "--port", str(port), *(["--workers", str(workers)] if workers > 1 else [])],
        env={**os.environ, "WORKFLOW_LOG_LEVEL": "WARNING"},
        cwd=checkout,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the server did not start")


def _with_workers(pids: Sequence[int]) -> list[int]:
    """``pids`` and their child processes (``serve --workers``' worker processes)."""
    found = list(pids)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as children:
                found += [int(child) for child in children.read().split()]
        except OSError:
            pass
    return found


def _servers_cpu(pids: Sequence[int], *, event_loops: bool = False) -> float | None:
    """The server processes' CPU seconds (a ``--workers`` server's and its workers');
    ``event_loops``: their main threads' only (uvicorn's event loop: HTTP, routing, parsing;
    the fires run in worker threads)."""
    used = [_cpu_seconds(pid, pid if event_loops else None) for pid in _with_workers(pids)]
    return None if not used or None in used else sum(u or 0.0 for u in used)


def _postgres_cpu() -> float | None:
    """The CPU seconds PostgreSQL's processes on this machine have used, the ended ones
    included (the postmaster's children's time: a pool's overflow connections come and go
    within a turn); None where /proc shows none."""
    pids = [int(e) for e in os.listdir("/proc") if e.isdigit()]
    used = [
        _cpu_seconds(pid, ended=True)
        for pid in pids
        if (found := _stat(f"/proc/{pid}/stat")) and found[0].startswith("postgres")
    ]
    return sum(u for u in used if u is not None) if used else None


def _machine_ticks() -> tuple[int, int] | None:
    """The machine's CPU ticks since boot, all and stolen (``/proc/stat``: the time a virtual
    machine was ready to run but its host ran something else); None elsewhere than Linux."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
    return sum(ticks), ticks[7] if len(ticks) > 7 else 0


def _measured(
    turn: Callable[[], tuple[float, list[float]]], servers: Sequence[int], fires: int
) -> dict[str, Any]:
    """One turn with the CPU it cost per fire: the server processes', this process's (the
    library's threads in a library turn, the HTTP clients' in an API turn) and, when it runs on
    this machine, PostgreSQL's; and the share of the machine's time its host stole meanwhile
    (other tenants of a shared host: what makes turns of one run differ)."""
    clocks: dict[str, Callable[[], float | None]] = {  # CPU seconds, each reported per fire
        "bench_process_ms": time.process_time,
        "postgres_ms": _postgres_cpu,
        "server_ms": partial(_servers_cpu, servers),
        "server_event_loop_ms": partial(_servers_cpu, servers, event_loops=True),
    }
    before = {name: read() for name, read in clocks.items()}
    ticks_before = _machine_ticks()
    rate, latencies = turn()
    ticks_after = _machine_ticks()
    after = {name: read() for name, read in clocks.items()}
    cpu: dict[str, float] = {}
    for name in clocks:
        start, end = before[name], after[name]
        if start is not None and end is not None:
            cpu[name] = round((end - start) / fires * 1000, 3)
    if ticks_before is not None and ticks_after is not None:
        elapsed = ticks_after[0] - ticks_before[0]
        stolen = ticks_after[1] - ticks_before[1]
        cpu["host_steal_pct"] = round(100 * stolen / elapsed, 1) if elapsed else 0.0
    return {"rate": rate, "latencies": latencies, "cpu_per_fire": cpu}


def run(
    fires: int,
    turns: int,
    baseline: str | None = None,
    workers: int = 1,
    client: str = "keep-alive",
) -> dict[str, Any]:
    """``turns`` rounds of: the library, the API, and (``baseline``: another checkout) the
    baseline's API, each over ``fires`` fresh instances with CLIENTS concurrent callers; the
    API served by ``workflow serve --workers``, called by ``client`` (:func:`api_turn`)."""
    quiet_logs()
    load_before = os.getloadavg()
    sides = ["library", "api"] + (["baseline_api"] if baseline else [])
    with postgres_database() as url:
        engine, ids = prepared_engine(url, len(sides) * fires * (turns + 1), upgrade=True)
        engine.add_actor(CLERK.id, sorted(CLERK.roles))
        token = create_token(engine, CLERK.id, expires=timedelta(days=1), by="bench").secret
        servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
        spare = iter(ids)

        def take() -> list[int]:
            return [next(spare) for _ in range(fires)]

        def turn(side: str, chosen: list[int]) -> Callable[[], tuple[float, list[float]]]:
            if side == "library":
                return partial(library_turn, engine, chosen)
            return partial(api_turn, servers[side][1], token, chosen, client)

        try:
            for side in sides[1:]:
                checkout = baseline if side == "baseline_api" else None
                servers[side] = _serve(url, checkout, workers)
            for side in sides:  # warm each: pools, compiled machine
                turn(side, take()[: fires // 4])()
            results: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
            for _ in range(turns):
                for side in sides:
                    pids = [servers[side][0].pid] if side in servers else []
                    results[side].append(_measured(turn(side, take()), pids, fires))
        finally:
            running = [process for process, _ in servers.values()]
            for process in running:
                process.send_signal(signal.SIGTERM)
            for process in running:
                process.wait(timeout=60)
            engine.close()

    def summary(side: str) -> dict[str, Any]:
        rates = [t["rate"] for t in results[side]]
        latencies = [x for t in results[side] for x in t["latencies"]]
        return {
            "rates_per_s": [round(r, 1) for r in rates],
            "median_rate_per_s": round(statistics.median(rates), 1),
            "p50_ms": round(_percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(_percentile(latencies, 99) * 1000, 2),
            "p99_ms_per_turn": [
                round(_percentile(t["latencies"], 99) * 1000, 2) for t in results[side]
            ],
            "cpu_per_fire_per_turn": [t["cpu_per_fire"] for t in results[side]],
        }

    def ratios(side: str) -> list[float]:
        pairs = zip(results[side], results["library"], strict=True)
        return [a["rate"] / b["rate"] for a, b in pairs]

    report: dict[str, Any] = {
        "clients": CLIENTS,
        "client": client,
        "server_workers": workers,
        "fires_per_turn": fires,
        "turns": turns,
        **{side: summary(side) for side in sides},
    }
    for side in sides[1:]:
        report[f"{side}_vs_library"] = round(statistics.median(ratios(side)), 3)
        report[f"{side}_vs_library_per_turn"] = [round(r, 3) for r in ratios(side)]
    if baseline:
        report["baseline"] = baseline
    report.update(
        cpus=os.cpu_count(),
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()],
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fires", type=int, default=2000, help="fires per side per turn")
    parser.add_argument(
        "--turns", type=int, default=7, help="rounds of library, API: the figures are medians"
    )
    parser.add_argument(
        "--baseline",
        metavar="CHECKOUT",
        help="another checkout (with its .venv) whose service is measured in the same turns",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="workflow serve --workers: server processes (default: one per core, as advised)",
    )
    parser.add_argument(
        "--client",
        choices=("keep-alive", "http.client"),
        default="keep-alive",
        help="the HTTP client of the API turns (bench.service.KeepAlive, or the standard one)",
    )
    args = parser.parse_args(argv)
    report = run(args.fires, args.turns, args.baseline, args.workers, args.client)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
