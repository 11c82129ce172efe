"""Fires through the HTTP API against the same fires through the library, on PostgreSQL, with
32 concurrent clients each (`python -m bench.service`): throughput ratio and latency percentiles.

The library side is one process: 32 threads sharing one Engine, each firing ``submit`` on its
own instances. The API side is a ``workflow serve`` process (its own engine, uvicorn with the
[web] extra's httptools/uvloop) and, in this process, 32 threads each with a keep-alive HTTP
client sending ``POST /api/v1/instances/{id}/fire`` with a bearer token. Both sides run in turns
(library, API, library, ...) over fresh instances, so load on a shared machine hits both alike;
the figures are medians over the turns. The clients' own work (HTTP encoding, JSON) runs on the
same machine as the server: on 2 cores it is part of what the ratio measures.
"""

from __future__ import annotations

import argparse
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


def _run_clients(ids: Sequence[int], fire: Callable[[int, Any], None], setup: Callable[[], Any],
                 teardown: Callable[[Any], None]) -> tuple[float, list[float]]:
    """``fire(id, handle)`` over ``ids`` split among CLIENTS threads started together:
    (fires per second, each fire's latency in seconds)."""
    shares = [list(ids[i::CLIENTS]) for i in range(CLIENTS)]
    latencies: list[list[float]] = [[] for _ in shares]
    barrier = threading.Barrier(CLIENTS + 1)
    errors: list[BaseException] = []

    def client(index: int) -> None:
        handle = setup()
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

    return _run_clients(ids, fire, lambda: None, lambda _: None)


def api_turn(base: str, token: str, ids: Sequence[int]) -> tuple[float, list[float]]:
    body = json.dumps({"trigger": "submit", "payload": PAYLOAD}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def fire(instance_id: int, client: httpx.Client) -> None:
        answer = client.post(f"/api/v1/instances/{instance_id}/fire", content=body,
                             headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"fire {instance_id}: {answer.status_code} {answer.text}")

    return _run_clients(
        ids, fire, lambda: httpx.Client(base_url=base, timeout=60), lambda c: c.close()
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from cli.main import main; main()", "--db", url, "serve",
         "--port", str(port)],
        env={**os.environ, "WORKFLOW_LOG_LEVEL": "WARNING"},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the server did not start")


def run(fires: int, turns: int) -> dict[str, Any]:
    quiet_logs()
    with postgres_database() as url:
        engine, ids = prepared_engine(url, 2 * fires * (turns + 1), upgrade=True)
        engine.add_actor(CLERK.id, sorted(CLERK.roles))
        token = create_token(engine, CLERK.id, expires=timedelta(days=1), by="bench").secret
        server, base = _serve(url)
        spare = iter(ids)

        def take() -> list[int]:
            return [next(spare) for _ in range(fires)]

        try:
            library_turn(engine, take()[: fires // 4])  # warm both: pools, compiled machine
            api_turn(base, token, take()[: fires // 4])
            results: dict[str, list[tuple[float, list[float]]]] = {"library": [], "api": []}
            for _ in range(turns):
                results["library"].append(library_turn(engine, take()))
                results["api"].append(api_turn(base, token, take()))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
            engine.close()

    def summary(side: str) -> dict[str, Any]:
        rates = [r for r, _ in results[side]]
        latencies = [x for _, lat in results[side] for x in lat]
        return {
            "rates_per_s": [round(r, 1) for r in rates],
            "median_rate_per_s": round(statistics.median(rates), 1),
            "p50_ms": round(_percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(_percentile(latencies, 99) * 1000, 2),
        }

    library, api = summary("library"), summary("api")
    ratios = [a[0] / b[0] for a, b in zip(results["api"], results["library"], strict=True)]
    return {
        "clients": CLIENTS,
        "fires_per_turn": fires,
        "turns": turns,
        "library": library,
        "api": api,
        "api_vs_library": round(statistics.median(ratios), 3),
        "api_vs_library_per_turn": [round(r, 3) for r in ratios],
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fires", type=int, default=2000, help="fires per side per turn")
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.fires, args.turns), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
