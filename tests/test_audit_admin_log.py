"""The administrators' log is a hash chain too: read it, verify it, detect tampering with it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_cli_support import run
from sqlalchemy import delete, text, update
from sqlalchemy.engine import Connection

from workflow import Actor, Engine
from workflow.admin import retire_version, unretire_version
from workflow.auditing import (
    AuditFilter,
    admin_log,
    audit_rows,
    take_checkpoint,
    verify_admin_log,
    verify_log,
)
from workflow.auditing.checkpoints import ChainMark
from workflow.hashchain.encoding import ADMIN_CHAIN
from workflow.store.chain_writer import os_user
from workflow.store.tables import admin_events


@pytest.fixture
def administered(payment: Engine) -> Engine:
    """Four administrative changes: the payment deployment, an actor, a retirement, an actor."""
    payment.add_actor("lan", ["clerk"], by="root")
    retire_version(payment, "payment", 1, actor="root")
    payment.add_actor("minh", ["auditor"], by="root")
    return payment


def _drop_append_only_triggers(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER admin_events_no_update_delete ON admin_events"))
    else:
        conn.execute(text("DROP TRIGGER admin_events_no_update"))
        conn.execute(text("DROP TRIGGER admin_events_no_delete"))


def _tamper(engine: Engine, change: Callable[[Connection], object]) -> None:
    with engine.transaction() as conn:
        _drop_append_only_triggers(conn)
        change(conn)


def test_the_log_lists_every_change_newest_first(administered):
    events = admin_log(administered)
    assert [(e.seq, e.action, e.subject, e.actor) for e in events] == [
        (4, "actor", "minh", "root"),
        (3, "retire", "payment@1", "root"),
        (2, "actor", "lan", "root"),
        (1, "deploy", "payment@1", "admin"),
    ]
    assert events[1].detail == {"version": 1, "live_instances": 0, "os_user": os_user()}
    assert [e.prev_hash for e in events[:-1]] == [e.hash for e in events[1:]]


def test_an_untouched_log_verifies(administered):
    verified = verify_admin_log(administered)
    assert (verified.ok, verified.events) == (True, 4)


def _edit_detail(conn: Connection) -> None:
    conn.execute(update(admin_events).where(admin_events.c.seq == 3).values(detail="{}"))


def _rename_actor(conn: Connection) -> None:
    conn.execute(update(admin_events).where(admin_events.c.seq == 2).values(actor="someone"))


def _delete_an_event(conn: Connection) -> None:
    conn.execute(delete(admin_events).where(admin_events.c.seq == 2))


def _delete_the_last_event(conn: Connection) -> None:
    conn.execute(delete(admin_events).where(admin_events.c.seq == 4))


def _relink(conn: Connection) -> None:
    conn.execute(update(admin_events).where(admin_events.c.seq == 4).values(prev_hash="0" * 64))


@pytest.mark.parametrize(
    ("change", "seq", "problem"),
    [
        (_edit_detail, 3, "edited"),
        (_rename_actor, 2, "edited"),
        (_delete_an_event, 2, "an event is missing"),
        (_relink, 4, "prev_hash"),
    ],
    ids=["detail edited", "actor edited", "event deleted", "link rewritten"],
)
def test_tampering_names_the_first_bad_event(administered, change, seq, problem):
    _tamper(administered, change)
    verified = verify_admin_log(administered)
    [found] = verified.problems
    assert (found.instance_id, found.seq) == (ADMIN_CHAIN, seq)
    assert problem in found.problem
    assert str(found).startswith(f"administrators' log, event {seq}:")


def test_audit_verify_covers_the_administrators_log(administered, database_url):
    clean = run(database_url, "audit", "verify", "--json")
    assert (clean.code, clean.json()["admin_events"]) == (0, 4)
    _tamper(administered, _edit_detail)
    tampered = run(database_url, "audit", "verify")
    assert tampered.code == 3
    assert "administrators' log, event 3" in tampered.out + tampered.err


def test_the_cli_lists_the_log(administered, database_url):
    listed = run(database_url, "audit", "admin-log", "--limit", "2", "--json")
    assert listed.code == 0
    assert [e["action"] for e in listed.json()] == ["actor", "retire"]


def test_verifying_one_instance_leaves_the_log_alone(payment, clerk, database_url):
    instance = payment.start("payment", clerk).instance
    verified = run(database_url, "audit", "verify", "--instance", str(instance.id), "--json")
    assert (verified.code, verified.json()["admin_events"]) == (0, None)


def test_a_checkpoint_catches_the_logs_tail_cut_off(administered):
    checkpoint = take_checkpoint(administered)
    assert checkpoint.chains[0] == ChainMark(ADMIN_CHAIN, 4, admin_log(administered)[0].hash)
    _tamper(
        administered, lambda conn: conn.execute(delete(admin_events).where(admin_events.c.seq == 4))
    )
    assert verify_admin_log(administered).ok  # what is left is a consistent chain
    [found] = verify_admin_log(administered, checkpoint).problems
    assert (found.seq, "removed since the checkpoint" in found.problem) == (4, True)


def test_a_checkpoint_with_the_log_still_verifies_the_instances(administered):
    checkpoint = take_checkpoint(administered)
    rows = audit_rows(administered, AuditFilter())
    assert verify_log(rows, checkpoint=checkpoint).ok


def _export(database_url: str, tmp_path) -> Path:
    path = tmp_path / "audit.jsonl"
    assert run(database_url, "audit", "export", "-o", str(path)).code == 0
    return path


def test_an_export_carries_the_log_and_verifies_offline(administered, database_url, tmp_path):
    path = _export(database_url, tmp_path)
    verified = run(database_url, "audit", "verify", "--file", str(path), "--json")
    assert (verified.code, verified.json()["admin_events"]) == (0, 4)


def test_an_edited_log_record_in_an_export_is_caught(administered, database_url, tmp_path):
    path = _export(database_url, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    edited = [
        line.replace('"actor": "root"', '"actor": "someone"', 1)
        if '"seq": 2, "action"' in line
        else line
        for line in lines
    ]
    assert edited != lines
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")
    verified = run(database_url, "audit", "verify", "--file", str(path))
    assert verified.code == 3
    assert "administrators' log, event 2" in verified.out + verified.err


def test_a_filtered_export_leaves_the_log_out(administered, clerk, database_url, tmp_path):
    path = tmp_path / "one.jsonl"
    run(database_url, "audit", "export", "--actor", "nobody", "-o", str(path))
    header = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert header["admin_log"] is False
    verified = run(database_url, "audit", "verify", "--file", str(path), "--json")
    assert verified.json()["admin_events"] is None


def test_engine_verify_walks_the_log_with_the_chains(administered):
    assert administered.verify().admin_events == 4
    _tamper(administered, _edit_detail)
    report = administered.verify()
    assert [(p.instance_id, p.seq) for p in report.problems] == [(ADMIN_CHAIN, 3)]
    assert administered.verify(instance_id=1).admin_events is None


@pytest.mark.parametrize("change", [_edit_detail, _delete_the_last_event, None])
def test_the_cli_reports_the_same_on_a_terminal_and_off_it(
    administered, database_url, tmp_path, monkeypatch, change
):
    """One verifier on a terminal (with a progress bar) and off it: the same report."""
    unretire_version(administered, "payment", 1)
    lan = Actor("lan", ["clerk"])  # registered: the log registers actors, so events need them
    paid = administered.start("payment", lan).instance.id
    administered.fire(paid, "pay", lan, payload={"paid": 150})
    checkpoint = tmp_path / "cp.json"
    assert run(database_url, "audit", "checkpoint", "-o", str(checkpoint)).code == 0
    if change is not None:
        _tamper(administered, change)
    args = ("audit", "verify", "--checkpoint", str(checkpoint), "--json")
    off = run(database_url, *args)
    monkeypatch.setattr("cli.commands.audit._tty", lambda: True)
    on = run(database_url, *args)
    assert (on.code, on.json()) == (off.code, off.json())
    assert off.json()["ok"] is (change is None)
