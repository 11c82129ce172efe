"""``workflow serve --workers N``: several server processes on one port, each with its own
engine, started and stopped as one service (docs/service.md)."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from service_support import running_server, seed

from workflow import Engine
from workflow.accounts import LoginThrottle, LoginThrottled


def _workers(pid: int) -> list[int]:
    """The worker processes of the server ``pid`` (not multiprocessing's resource tracker)."""
    with open(f"/proc/{pid}/task/{pid}/children") as found:
        children = [int(child) for child in found.read().split()]
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


ROOT = Path(__file__).resolve().parents[1]


def installed_argv(*args: str) -> list[str]:
    """``workflow ARGS`` as the wheel installs it: the CLI is the package ``workflow_cli``, and
    no ``cli`` package is importable (the checkout's root left off the path, in the workers
    too: they are started with their parent's path)."""
    program = (f"import sys; sys.path[:] = [p for p in sys.path if p not in ('', {str(ROOT)!r})]; "
               "from workflow_cli.main import main; main()")  # fmt: skip
    return [sys.executable, "-c", program, *args]


def test_two_workers_serve_concurrent_fires_and_stop_together(database_url):
    seeded = seed(database_url)
    with running_server(database_url, seeded, "--workers", "2", argv=installed_argv) as server:
        workers = _workers(server.process.pid)
        assert len(workers) == 2
        with server.client() as client:
            started = [client.post("/api/v1/instances", json={"workflow": "ticket"})
                       for _ in range(12)]  # fmt: skip
        assert {answer.status_code for answer in started} == {201}
        ids = [answer.json()["instance"]["id"] for answer in started]

        def fire(instance_id: int) -> int:
            with server.client() as own:  # a connection each: the kernel spreads them
                body = {"trigger": "submit", "payload": {"note": "n"}}
                return own.post(f"/api/v1/instances/{instance_id}/fire", json=body).status_code

        with ThreadPoolExecutor(6) as pool:
            assert list(pool.map(fire, ids)) == [200] * len(ids)
    assert not [pid for pid in workers if _alive(pid)]
    with Engine.open(database_url) as engine:
        events = [engine.history(i)[-1] for i in ids]
    assert {(e.to_state, e.actor, e.channel) for e in events} == {("review", "a1", "api")}


def test_a_worker_killed_is_replaced_and_the_service_keeps_answering(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'workflow.db'}"
    with running_server(url, seed(url), "--workers", "2") as server:
        first = _workers(server.process.pid)
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = _workers(server.process.pid)
            if len(now) == 2 and first[0] not in now:
                break
            time.sleep(0.1)
        assert first[0] not in now
        assert first[1] in now  # the other worker was left alone
        assert len(now) == 2
        for _ in range(6):  # new connections: the kernel hands them to either worker
            assert server.alive()


def test_a_worker_that_cannot_start_stops_the_service_with_one_message(tmp_path: Path):
    missing = tmp_path / "missing.db"
    program = (
        "from workflow.service import serve_workers, WorkerStartFailed\n"
        "try:\n"
        f"    serve_workers({f'sqlite:///{missing}'!r}, workers=2, port=0)\n"
        "except WorkerStartFailed as exc:\n"
        "    print('refused:', exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], check=False, capture_output=True, text=True, timeout=120,
        env={**os.environ, "WORKFLOW_LANG": "en"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "refused: a server process could not start: its log says why\n"
    assert "no such database file" in done.stderr
    assert "Traceback" not in done.stderr
    assert not missing.exists()


def test_the_login_throttle_sent_to_a_worker_keeps_its_limits_not_its_counts():
    throttle = LoginThrottle(per_name=2, per_client=3, window=timedelta(minutes=1))
    throttle.failed("anna", "10.0.0.1")
    throttle.failed("anna", "10.0.0.1")
    copy = pickle.loads(pickle.dumps(throttle))
    assert (copy.per_name, copy.per_client, copy.window) == (2, 3, timedelta(minutes=1))
    copy.check("anna", "10.0.0.1")  # nothing counted in the copy
    copy.failed("anna", "10.0.0.1")
    copy.failed("anna", "10.0.0.1")
    with pytest.raises(LoginThrottled):
        copy.check("anna", "10.0.0.1")
