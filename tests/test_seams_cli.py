"""Issue 14, the CLI at its seams, each through a real ``workflow`` process on both backends.

Reserved identities (no one registers as the timer), a stored row that is not JSON (exit 3,
naming the row), display names shown, a closed pipe, truncated output said so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from workflow import Actor, Engine, ReservedIdentity, UnreadableRecord
from workflow.store.tables import actors

CONSOLE = [sys.executable, "-c", "from cli.main import main; main()"]


def workflow(db_url: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``workflow --db DB_URL ARGS...`` in a fresh process."""
    return subprocess.run(
        [*CONSOLE, "--db", db_url, *args], capture_output=True, text=True, timeout=120,
        check=False, cwd=cwd, env={**os.environ, "WORKFLOW_LOG_LEVEL": "warning"},
    )


# (case, the arguments after `actors add`)
RESERVED = [
    ("the timer's role", ("fake", "--role", "system")),
    ("the timer's id", ("system:timer", "--role", "clerk")),
    ("any system: id", ("system:cron", "--role", "clerk")),
    ("the timer's id and role", ("system:timer", "--role", "system")),
    ("the role among others", ("lan", "--role", "clerk", "--role", "system")),
]


@pytest.mark.parametrize("args", [c[1] for c in RESERVED], ids=[c[0] for c in RESERVED])
def test_a_reserved_identity_cannot_be_registered(database_url, args):
    done = workflow(database_url, "actors", "add", *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "is reserved for the engine's own actors" in done.stderr
    assert workflow(database_url, "actors", "list", "--json").stdout.strip() == "[]"


@pytest.mark.parametrize(("actor_id", "roles"), [("system:timer", ["clerk"]), ("x", ["system"])])
def test_the_library_refuses_a_reserved_identity(engine: Engine, actor_id, roles):
    with pytest.raises(ReservedIdentity) as refused:
        engine.add_actor(actor_id, roles)
    assert refused.value.actor_id == actor_id


def test_a_reserved_identity_registered_earlier_cannot_act(payment: Engine, database_url):
    with payment.transaction() as conn:  # a row written before identities were reserved
        conn.execute(insert(actors).values(id="system:timer", roles=["system", "clerk"],
                                           unit=None, name=None, created_at=payment.now()))
    done = workflow(database_url, "start", "payment", "--actor", "system:timer")
    assert (done.returncode, "is reserved" in done.stderr) == (2, True), done.stderr


def test_a_display_name_is_shown_by_actors_list(database_url):
    assert workflow(database_url, "actors", "add", "lan", "--role", "clerk",
                    "--name", "Nguyễn Thị Lan").returncode == 0
    listed = workflow(database_url, "actors", "list")
    assert "Nguyễn Thị Lan" in listed.stdout


def _drop_append_only_triggers(engine: Engine) -> None:
    with engine.transaction() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_events_no_update_delete ON audit_events"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))


@pytest.mark.parametrize("column", ["payload", "data", "actor_roles"])
def test_a_stored_row_that_is_not_json_is_named_with_exit_3(payment, database_url, column):
    clerk = Actor("c1", ["clerk"])
    instance = payment.start("payment", clerk).instance.id
    payment.fire(instance, "pay", clerk, payload={"paid": 50})
    _drop_append_only_triggers(payment)
    with payment.transaction() as conn:
        conn.execute(text(f"UPDATE audit_events SET {column} = '{{not json' WHERE seq = 2"))
    with pytest.raises(UnreadableRecord):
        payment.history(instance)
    done = workflow(database_url, "history", str(instance))
    assert done.returncode == 3, done.stderr
    assert done.stderr == (
        f"error: audit event 2 of instance {instance} (id 2) is unreadable: its stored {column} "
        "is not valid JSON (the row was altered outside the engine); run `workflow audit "
        "verify` to check the log\n"
    )

