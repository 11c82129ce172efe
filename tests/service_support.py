"""The service under test: a real ``workflow serve`` process on a free loopback port, over a
database seeded with two units' actors, an auditor, an account and tokens (some revoked or
expired). A plain module (not ``conftest``): the service test files import it by name."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cli_runner import workflow_argv

from workflow import Actor, Engine, FrozenClock
from workflow.accounts import Token, add_user, create_token, list_tokens, revoke_token

TICKET = """\
name: ticket
labels: {vi: Phiếu, en: Ticket}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
  auditor: {vi: Kiểm toán, en: Auditor}
start_roles: [clerk, auditor]
fields:
  note: {type: string}
  amount: {type: number}
states:
  open: {initial: true}
  review: {}
  done: {final: true}
transitions:
  - trigger: annotate
    source: [open, review]
    dest: open
    roles: [clerk]
    units: own
    effects: [{merge: [note]}]
  - trigger: submit
    source: open
    dest: review
    roles: [clerk]
    units: own
    guards: [{required: [note]}]
    effects: [{merge: [note]}]
  - trigger: approve
    source: review
    dest: done
    roles: [clerk]
    units: own
    require_reason: true
"""
PASSWORD = "correct horse battery"


@dataclass
class Seeded:
    """What the seed made: token secrets by name, the account's name and password."""

    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    account: str = "anna"
    password: str = PASSWORD
    guessed: str = "gus"
    """An account of its own for the wrong-password flood (its name stays throttled)."""


def seed(url: str) -> Seeded:
    """Units A and B each with a clerk (a1, b1), an auditor, an account for a1, a token each,
    a revoked token and an expired one (made first, on a clock 200 days back)."""
    seeded = Seeded(url)
    past = FrozenClock(datetime.now(UTC) - timedelta(days=200))
    with Engine.open(url, clock=past) as then:
        then.add_actor("a1", ["clerk"], unit="A", name="Anna")
        seeded.tokens["expired"] = create_token(
            then, "a1", expires=timedelta(days=90), by="test"
        ).secret
    with Engine.open(url) as engine:
        engine.deploy_text(TICKET, filename="ticket.yaml")
        engine.add_actor("b1", ["clerk"], unit="B")
        engine.add_actor("aud", ["auditor"])
        add_user(engine, seeded.account, "a1", PASSWORD, by="test")
        add_user(engine, seeded.guessed, "b1", PASSWORD, by="test")
        for name, actor in (("a", "a1"), ("b", "b1"), ("auditor", "aud"), ("revoked", "a1")):
            seeded.tokens[name] = create_token(
                engine, actor, expires=timedelta(days=1), by="test"
            ).secret
        revoked = [t for t in _tokens(engine) if t.actor_id == "a1" and t.revoked_at is None]
        revoke_token(engine, max(t.id for t in revoked), by="test")
    return seeded


def _tokens(engine: Engine) -> list[Token]:
    return list_tokens(engine)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``workflow serve``: its base URL and process."""

    base: str
    process: subprocess.Popen[str]
    seeded: Seeded

    def client(self, token: str | None = "a", **kwargs: object) -> httpx.Client:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.seeded.tokens[token]}"
        return httpx.Client(base_url=self.base, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def alive(self) -> bool:
        return httpx.get(f"{self.base}/healthz", timeout=10).json() == {"ok": True}


@contextmanager
def running_server(
    url: str, seeded: Seeded, *options: str, argv: Callable[..., list[str]] = workflow_argv
) -> Iterator[Server]:
    """``workflow --db URL serve [OPTIONS]`` (its command line made by ``argv``) on a free port
    until the block ends; then SIGTERM, and the process must exit 0 (a graceful shutdown)
    within its grace time."""
    port = free_port()
    # as behind a proxy on this machine: X-Forwarded-For names the client (the throttle test
    # poses as a client of its own with it)
    args = ["--db", url, "serve", "--port", str(port), "--graceful-timeout", "3",
            "--forwarded-allow-ips", "127.0.0.1", *options]  # fmt: skip
    process = subprocess.Popen(
        argv(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "WORKFLOW_LOG_LEVEL": "WARNING"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield Server(base, process, seeded)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            raise AssertionError(f"the server did not stop on SIGTERM:\n{output}") from None
    assert process.returncode == 0, output
    assert "Traceback" not in output, output


def wait_until_up(base: str, process: subprocess.Popen[str]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the server exited ({process.returncode}):\n{output}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the server did not come up within 30 s")


def demo_database(folder: Path) -> tuple[str, dict[str, str]]:
    """``workflow demo`` (19-CV/ĐUK played to 25/09/2020) on a SQLite file in ``folder``: its
    URL, and the environment to serve it with (none of the test run's ``WORKFLOW_`` variables,
    a console secret)."""
    url = f"sqlite:///{folder / 'demo.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    env["WORKFLOW_WEB_SECRET"] = "s" * 40
    argv = workflow_argv("--db", url, "demo")
    subprocess.run(argv, check=True, env=env, capture_output=True, timeout=120)
    return url, env


def as_actor(actor_id: str, unit: str | None) -> Actor:
    return Actor(actor_id, ["clerk"], unit)
