"""Secrets stay out of every output; the SQLite database and its -wal/-shm files are private."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_support import run_cli

from cli.logs import REDACTED, redact
from workflow import Actor, Engine

AUDIT_KEY = "audit-key-7f3a9c51e2"
PAYLOAD_SECRET = "payload-secret-b84d06"

GATED = """\
name: gated
labels: {vi: Cổng, en: Gated}
roles:
  clerk: {vi: Văn thư, en: Clerk}
fields:
  note: {type: string}
  code: {type: string}
states:
  shut: {initial: true}
  open: {final: true}
transitions:
  - trigger: note
    source: shut
    dest: shut
    roles: [clerk]
    effects: [{merge: [note]}]
  - trigger: unlock
    source: shut
    dest: open
    roles: [clerk]
    guards: [{compare: {field: payload.code, op: eq, value: open-sesame}}]
"""


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"password": "hunter2"}, {"password": REDACTED}),
        ({"db_password": "x", "api_key": "y"}, {"db_password": REDACTED, "api_key": REDACTED}),
        ({"Token": "z", "idempotency_key": "k"}, {"Token": REDACTED, "idempotency_key": REDACTED}),
        ({"payload": {"note": "x"}, "data": [1]}, {"payload": REDACTED, "data": REDACTED}),
        ({"reason": "why"}, {"reason": REDACTED}),
        ({"nested": {"secret": "s", "ok": 1}}, {"nested": {"secret": REDACTED, "ok": 1}}),
        ({"message": f"key is {AUDIT_KEY}!"}, {"message": f"key is {REDACTED}!"}),
        ({"items": [f"a{AUDIT_KEY}", 2]}, {"items": [f"a{REDACTED}", 2]}),
        ({"actor": "clerk-1", "instance": 3}, {"actor": "clerk-1", "instance": 3}),
    ],
)  # fmt: skip
def test_redaction_processor(
    event: dict[str, object], expected: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKFLOW_AUDIT_KEY", AUDIT_KEY)
    assert redact(None, "info", dict(event)) == expected


@pytest.fixture
def gated_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'secrets.db'}"
    with Engine.open(url) as engine:
        engine.deploy_text(GATED, filename="gated.yaml")
        engine.add_actor(f"clerk-{AUDIT_KEY}", ["clerk"])
        engine.start("gated", Actor("clerk-1", ["clerk"]))
    return url


def test_secrets_never_reach_any_cli_output(gated_db: str, tmp_path: Path) -> None:
    """Verbose JSON logs of applied and refused transitions: no audit key anywhere (the actor
    id carries it into every log line), no payload value in any log line or in what a
    successful command prints. (A refusal's error message may quote the value it refused.)"""
    actor = f"clerk-{AUDIT_KEY}"
    note = json.dumps({"note": PAYLOAD_SECRET})
    wrong = json.dumps({"code": PAYLOAD_SECRET})
    runs = [
        ["--db", gated_db, "-v", "fire", "1", "note", "--actor", actor, "--payload", note],
        ["--db", gated_db, "-v", "fire", "1", "unlock", "--actor", actor, "--payload", wrong],
    ]
    env = {"WORKFLOW_AUDIT_KEY": AUDIT_KEY, "WORKFLOW_LOG_FORMAT": "json"}
    applied, refused = run_cli(tmp_path, gated_db, runs, env)["runs"]
    assert (applied["exit"], refused["exit"]) == (0, 1)
    logs = [
        line
        for result in (applied, refused)
        for line in result["stderr"].splitlines()
        if line.startswith("{")
    ]
    assert any('"transition.applied"' in line for line in logs)
    assert any('"transition.refused"' in line for line in logs)
    for result in (applied, refused):
        assert AUDIT_KEY not in result["stdout"] + result["stderr"]
    assert all(PAYLOAD_SECRET not in line for line in logs)
    assert PAYLOAD_SECRET not in applied["stdout"] + applied["stderr"]


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask, so only the engine's own choice can make files private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_sqlite_database_and_wal_files_are_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "private" / "workflow.db"
    with Engine.open(f"sqlite:///{path}") as engine:
        engine.deploy_text(GATED, filename="gated.yaml")
        engine.start("gated", Actor("clerk-1", ["clerk"]))
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    assert modes == {f.name: 0o600 for f in files}
