"""A PostgreSQL primary and a hot standby on this machine, and the processes that work against
them while the primary dies (issue 24, ``tests/test_failover.py``).

:class:`Cluster` starts real servers from the PostgreSQL binaries (``initdb``, ``pg_basebackup``,
``pg_ctl``) in a temporary folder, on free loopback ports, as the ``postgres`` operating-system
user when the tests run as root (the server refuses to run as root). The standby streams from the
primary; with ``synchronous`` every commit waits until the standby has flushed it
(``synchronous_standby_names = '*'``, ``synchronous_commit = on``). :meth:`Cluster.fail_over`
kills the primary (SIGKILL to the postmaster and every child: the machine is gone; or
``pg_ctl stop -m immediate``), promotes the standby, and builds a new standby on the dead
primary's port, so the one multi-host URL (``?host=A&host=B&target_session_attrs=read-write``)
keeps naming both servers. :meth:`Cluster.stop` stops every server it started, whatever state the
test left them in: call it in a ``finally``.

``fsync = off``: the tests kill server processes, not the machine, and the operating system's
page cache survives a killed process; what is proved is what replication keeps.

The worker processes (:func:`load`, :func:`timer_worker`, :func:`dispatcher`) are spawned: each
opens its own engine on the multi-host URL and writes one JSON line per outcome (``ack``,
``unknown``, ``refused``, ``delivered``) to its own file, which the test reads afterwards.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("WORKFLOW_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"
DATABASE = "wf"
WAIT_S = 60.0
"""The longest any wait of the harness lasts before it fails the test (a server that never
comes up, a standby that never streams): a bound, never a timing assertion."""

FAILOVER = """\
name: failover
labels: {vi: Chuyển đổi dự phòng, en: Failover}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
fields:
  deadline: {type: datetime}
  n: {type: number}
states:
  open:
    initial: true
    timers: [{trigger: expire, at: deadline}]
  expired: {final: true}
  closed: {final: true}
transitions:
  - {trigger: note, source: open, dest: open, roles: [clerk], effects: [{merge: [n]}]}
  - {trigger: close, source: open, dest: closed, roles: [clerk]}
  - {trigger: expire, source: open, dest: expired, roles: [system]}
"""
"""Each instance has one timer, which takes it to a final state: a timer fired twice would show
as a second ``system:timer`` event (or be refused as not allowed, which the workers count)."""

LEASE = timedelta(seconds=3)
"""The timer workers' lease: claims stranded by a kill return after it."""


def missing_binaries() -> str | None:
    """Why the harness cannot run here, or None."""
    needed = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
    absent = [name for name in needed if not (PG_BIN / name).is_file()]
    if absent:
        return (
            f"PostgreSQL server binaries not found in {PG_BIN} ({', '.join(absent)}): the "
            "failover harness needs them (set WORKFLOW_PG_BIN)"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root, and there is no {SERVER_USER!r} user to run the servers as"
    return None


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range: a node's port is taken again
    by its replacement after a kill (the URL of the running processes names it), and a port
    from the ephemeral range could meanwhile become some other test's outgoing connection."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    chooser = random.Random()
    for _ in range(200):
        port = chooser.randrange(10_000, max(low, 10_001))
        if _port_free(port):
            return port
    raise RuntimeError(f"no free loopback port between 10000 and {low}")


@dataclass
class Node:
    """One server: its data folder, port and whether it is running."""

    name: str
    data: Path
    port: int
    running: bool = False


@dataclass
class Cluster:
    """A primary and a standby (see the module's docstring)."""

    root: Path
    synchronous: bool
    nodes: list[Node] = field(default_factory=list)
    primary: Node | None = None
    standby: Node | None = None
    _count: int = 0

    # --- running the binaries --------------------------------------------------------------

    def _as_server_user(self, args: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", SERVER_USER, "--", *args]
        return args

    def _run(self, binary: str, *args: str) -> str:
        command = self._as_server_user([str(PG_BIN / binary), *args])
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=WAIT_S, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{binary} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            server = pwd.getpwnam(SERVER_USER)
            os.chown(path, server.pw_uid, server.pw_gid)

    def _new_node(self, port: int | None = None) -> Node:
        self._count += 1
        node = Node(f"node{self._count}", self.root / f"node{self._count}", port or free_port())
        self.nodes.append(node)
        return node

    @property
    def sockets(self) -> Path:
        return self.root / "sockets"

    # --- life cycle -------------------------------------------------------------------------

    def start_primary(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._own(self.root)
        self.sockets.mkdir(exist_ok=True)
        self._own(self.sockets)
        node = self._new_node()
        self._run("initdb", "-D", str(node.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")  # fmt: skip
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.sockets}'",
            "max_connections": "80",
            "shared_buffers": "16MB",
            "fsync": "off",
            "wal_level": "replica",
            "max_wal_senders": "6",
            "wal_keep_size": "128MB",
            "hot_standby": "on",
            "synchronous_commit": "on",
            "synchronous_standby_names": "''",  # '*' once a standby streams
            "wal_receiver_status_interval": "1s",
            "logging_collector": "off",
        }
        with (node.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        self._start(node)
        self.primary = node
        self.execute(node, f"CREATE DATABASE {DATABASE}", database="postgres")

    def _start(self, node: Node) -> None:
        log = self.root / f"{node.name}.log"
        try:
            self._run("pg_ctl", "start", "-w", "-t", str(int(WAIT_S)), "-D", str(node.data),
                      "-l", str(log), "-o", f"-p {node.port}")  # fmt: skip
        except RuntimeError as exc:
            said = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
            raise RuntimeError(f"{exc}\n{node.name}'s log ends:\n{said}") from None
        node.running = True

    def add_standby(self, port: int | None = None) -> Node:
        """A new standby streaming from the primary (on ``port``, a free one by default); with
        ``synchronous``, commits wait for it again once it streams."""
        assert self.primary is not None
        node = self._new_node(port)
        _wait_until(lambda: _port_free(node.port), f"port {node.port} to be free")
        self._run("pg_basebackup", "-D", str(node.data), "-h", "127.0.0.1",
                  "-p", str(self.primary.port), "-U", "postgres", "-R", "-X", "stream",
                  "-c", "fast")  # fmt: skip
        self._start(node)
        self.standby = node
        _wait_until(self._streaming, "the standby to stream from the primary")
        if self.synchronous:
            self._set_synchronous("'*'")
            _wait_until(lambda: self._streaming(sync=True), "the standby to be synchronous")
            # a commit now waits for the standby: every earlier WAL record is on it afterwards
            self.execute(self.primary, "SELECT txid_current()")
        return node

    def _streaming(self, *, sync: bool = False) -> bool:
        assert self.primary is not None
        rows = self.query(self.primary, "SELECT state, sync_state FROM pg_stat_replication")
        return any(s == "streaming" and (not sync or m == "sync") for s, m in rows)

    def _set_synchronous(self, names: str) -> None:
        assert self.primary is not None
        self.execute(self.primary, f"ALTER SYSTEM SET synchronous_standby_names = {names}")
        self.execute(self.primary, "SELECT pg_reload_conf()")

    def kill_primary(self, how: str) -> None:
        """``sigkill``: the postmaster and every child at once (the machine is gone);
        ``immediate``: ``pg_ctl stop -m immediate`` (the server aborts without a checkpoint)."""
        node = self.primary
        assert node is not None
        assert node.running
        if how == "sigkill":
            pid = _postmaster_pid(node)
            children = _children(pid)
            os.kill(pid, signal.SIGKILL)
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            _wait_until(lambda: _gone(pid), f"the killed postmaster {pid} to end")
            # Left unreaped (a zombie: nothing reaps it in a container), it still answers
            # kill(pid, 0), and a server started on its port takes its socket's lock file for a
            # live server's ("lock file already exists"): the process is gone, so is the lock.
            with contextlib.suppress(FileNotFoundError):
                (self.sockets / f".s.PGSQL.{node.port}.lock").unlink()
        elif how == "immediate":
            self._run("pg_ctl", "stop", "-D", str(node.data), "-m", "immediate", "-w")
        else:
            raise ValueError(how)
        node.running = False

    def stop_standby(self) -> None:
        assert self.standby is not None
        self._run("pg_ctl", "stop", "-D", str(self.standby.data), "-m", "fast", "-w")
        self.standby.running = False

    def restart_standby(self) -> None:
        assert self.standby is not None
        self._start(self.standby)

    def promote(self) -> Node:
        """Promote the standby; it runs alone (``synchronous_standby_names`` cleared, or every
        commit would wait for a standby that does not exist yet) until :meth:`add_standby`."""
        node = self.standby
        assert node is not None
        self._run("pg_ctl", "promote", "-w", "-t", str(int(WAIT_S)), "-D", str(node.data))
        self.primary, self.standby = node, None
        self._set_synchronous("''")
        return node

    def fail_over(self, how: str) -> None:
        """Kill the primary, promote the standby, build a new standby on the old primary's port."""
        assert self.primary is not None
        old_port = self.primary.port
        self.kill_primary(how)
        self.promote()
        self.add_standby(old_port)

    def stop(self) -> None:
        """Stop every server this cluster started (immediate: nothing of them is kept)."""
        for node in self.nodes:
            if (node.data / "postmaster.pid").exists():
                with contextlib.suppress(Exception):
                    pid = _postmaster_pid(node)
                    children = _children(pid)
                    os.kill(pid, signal.SIGKILL)
                    for child in children:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(child, signal.SIGKILL)
            node.running = False

    # --- talking to a server ----------------------------------------------------------------

    def url(self, *, user: str = "postgres") -> str:
        """The multi-host URL naming both servers; libpq picks the one that accepts writes."""
        hosts = "&".join(f"host=127.0.0.1:{node.port}" for node in self._url_nodes())
        return (
            f"postgresql+psycopg://{user}@/{DATABASE}?{hosts}"
            "&target_session_attrs=read-write&connect_timeout=5"
        )

    def _url_nodes(self) -> list[Node]:
        return self.nodes[:2]  # a new standby takes the dead primary's port: still these two

    def execute(self, node: Node, statement: str, *, database: str = DATABASE) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=node.port, user="postgres", dbname=database, autocommit=True,
            connect_timeout=10, options="-c statement_timeout=60000",
        ) as conn:
            conn.execute(statement.encode())

    def query(self, node: Node, statement: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=node.port, user="postgres", dbname=DATABASE, autocommit=True,
            connect_timeout=10, options="-c statement_timeout=60000",
        ) as conn:
            return list(conn.execute(statement.encode()).fetchall())


@contextlib.contextmanager
def cluster(*, synchronous: bool = True) -> Iterator[Cluster]:
    """A running primary with a streaming standby, stopped on the way out whatever happened.

    Its folder is a new one under the system's temporary folder (pytest's are private to root,
    and the servers run as ``postgres``), removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="workflow-failover-"))
    made = Cluster(root, synchronous=synchronous)
    atexit.register(made.stop)  # a run cut short (SIGTERM) still stops the servers
    try:
        made.start_primary()
        made.add_standby()
        yield made
    finally:
        made.stop()
        atexit.unregister(made.stop)
        shutil.rmtree(root, ignore_errors=True)


def _postmaster_pid(node: Node) -> int:
    return int((node.data / "postmaster.pid").read_text().splitlines()[0])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (exited, or a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _port_free(port: int) -> bool:
    """Whether a server can listen on ``port`` (as PostgreSQL does, with SO_REUSEADDR: the dead
    server's closed connections linger in TIME_WAIT for a minute)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {WAIT_S:.0f} s for {what}")
        time.sleep(0.05)


# --- the processes --------------------------------------------------------------------------


def quiet() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


class Outcomes:
    """One process's JSON Lines file of outcomes; each line flushed before the next request."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("a", encoding="utf-8")

    def write(self, **record: Any) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()


def resolve(call: Callable[[], Any], key: str, out: Outcomes) -> Any:
    """Send one keyed request until its outcome is known: the result (an ``ack``), or None when
    the rules refused it. A lost commit (``unknown``) is sent again with the same key, as
    the error says; an unreachable database (the switch in progress) is waited out."""
    from workflow import (
        CommitOutcomeUnknown,
        ConcurrentModification,
        DatabaseBusy,
        DatabaseUnavailable,
        NotFound,
        TransitionNotAllowed,
    )

    unknown = 0
    deadline = time.monotonic() + 4 * WAIT_S
    while time.monotonic() < deadline:
        try:
            result = call()
        except CommitOutcomeUnknown as lost:
            if lost.idempotency_key != key:
                wrong = f"the error names key {lost.idempotency_key!r}, not {key!r}"
                raise AssertionError(wrong) from lost
            unknown += 1
            out.write(kind="unknown", key=key)
            continue
        except (DatabaseUnavailable, DatabaseBusy, ConcurrentModification):
            time.sleep(0.05)
            continue
        except (TransitionNotAllowed, NotFound):
            # not allowed: its timer took the instance first; not found: asynchronous
            # replication lost the instance's start with the primary
            out.write(kind="refused", key=key, after_unknown=unknown)
            return None
        out.write(
            kind="ack",
            key=key,
            instance=result.instance.id,
            seq=result.event.seq,
            hash=result.event.hash,
            replayed=result.replayed,
            after_unknown=unknown,
        )
        return result
    raise TimeoutError(f"request {key} never resolved")


def logged(target: Callable[..., None], url: str, name: str, out_path: str, *args: Any) -> None:
    """Run a process body; whatever it raises goes to its outcomes file before it exits."""
    try:
        target(url, name, out_path, *args)
    except BaseException as exc:
        import traceback

        Outcomes(Path(out_path)).write(kind="crashed", error=traceback.format_exc())
        raise SystemExit(1) from exc


@contextlib.contextmanager
def opened(url: str, out: Outcomes) -> Iterator[Any]:
    """The process's engine, opened once a primary answers (a process may start during a
    switch); ``ready`` is written when it is."""
    from workflow import DatabaseUnavailable, Engine

    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            engine = Engine.open(url)
            break
        except DatabaseUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    out.write(kind="ready")
    with engine:
        yield engine


def load(url: str, name: str, out_path: str, stop: Any, seed: int) -> None:
    """Start instances (each with a timer due within a second or two) and fire notes and closes
    on them, every request with its own idempotency key, until ``stop`` is set."""
    from workflow import Actor

    quiet()
    rng = random.Random(seed)
    actor = Actor(name, ["clerk"])
    out = Outcomes(Path(out_path))
    with opened(url, out) as engine:
        round_ = 0
        while not stop.is_set():
            round_ += 1
            due = datetime.now(UTC) + timedelta(seconds=rng.uniform(0.2, 2.0))
            started = resolve(
                lambda due=due, round_=round_: engine.start(
                    "failover", actor, data={"deadline": due.isoformat()},
                    idempotency_key=f"{name}:s{round_}",
                ),
                f"{name}:s{round_}",
                out,
            )  # fmt: skip
            if started is None:
                continue
            instance = started.instance.id
            for step in range(rng.randint(1, 3)):
                trigger = "close" if step == 2 else "note"
                key = f"{name}:{trigger}{round_}.{step}"
                payload = {"n": step} if trigger == "note" else {}
                done = resolve(
                    lambda trigger=trigger, key=key, payload=payload, instance=instance: (
                        engine.fire(instance, trigger, actor, payload=payload, idempotency_key=key)
                    ),
                    key,
                    out,
                )
                if done is None:
                    break  # its timer took it first


def timer_worker(url: str, name: str, out_path: str, stop: Any) -> None:
    """Fire due timers under a short lease until ``stop`` is set, riding out the switch."""
    from workflow import WorkflowError
    from workflow.timers import run_due_timers

    quiet()
    out = Outcomes(Path(out_path))
    with opened(url, out) as engine:
        while not stop.is_set():
            try:
                run = run_due_timers(engine, worker_id=name, lease=LEASE, limit=20)
            except WorkflowError as exc:
                out.write(kind="pass_failed", error=type(exc).__name__)
                time.sleep(0.05)
                continue
            if run.fired:
                out.write(kind="fired", count=run.fired)
            if run.claimed == 0:
                time.sleep(0.05)


def recording_bus(out: Outcomes) -> Any:
    """An event bus whose one handler records each event it is handed, by instance and seq."""
    from workflow.events import EventBus

    bus = EventBus()
    bus.on("*", lambda event: out.write(kind="delivered", at=[event.instance_id, event.seq]),
           name="record")  # fmt: skip
    return bus


def dispatcher(url: str, name: str, out_path: str, stop: Any) -> None:
    """Deliver the outbox under a short lease until ``stop`` is set, riding out the switch."""
    from workflow import WorkflowError
    from workflow.events import dispatch_pending

    quiet()
    out = Outcomes(Path(out_path))
    bus = recording_bus(out)
    with opened(url, out) as engine:
        while not stop.is_set():
            try:
                run = dispatch_pending(engine, bus, worker_id=name, lease=LEASE)
            except WorkflowError as exc:
                out.write(kind="pass_failed", error=type(exc).__name__)
                time.sleep(0.05)
                continue
            if run.claimed == 0:
                time.sleep(0.05)


def read_outcomes(folder: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(folder.glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines() if line]
    return records


def acknowledged(folder: Path) -> int:
    return sum(1 for r in read_outcomes(folder) if r["kind"] == "ack")


def wait_for_ready(folder: Path, count: int) -> None:
    """Wait until ``count`` processes have opened their engines."""
    _wait_until(
        lambda: sum(r["kind"] == "ready" for r in read_outcomes(folder)) >= count,
        f"{count} processes to open their engines",
    )


def wait_for_acks(folder: Path, count: int) -> None:
    """Wait until the processes have had ``count`` more requests acknowledged than now."""
    target = acknowledged(folder) + count
    _wait_until(lambda: acknowledged(folder) >= target, f"{count} more acknowledged requests")


class InFlight(threading.Thread):
    """A keyed request sent in a thread, to be caught waiting in its COMMIT; ``error`` is what it
    raised (None: it returned ``result``)."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:  # handed to the test
            self.error = exc


def waiting_for_standby(found: Cluster, user: str) -> bool:
    """Whether a session of ``user`` on the primary is waiting in COMMIT for the standby."""
    assert found.primary is not None
    rows = found.query(
        found.primary,
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep' "
        f"AND usename = '{user}'",
    )
    return bool(rows[0][0])


def wait_until(condition: Callable[[], bool], what: str) -> None:
    _wait_until(condition, what)
