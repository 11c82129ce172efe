"""Tampering with the stored audit log is detected, naming the first bad row of each chain.

Each mutation is what an attacker with write access to the database could do: the tests first
drop the append-only triggers, as such an attacker would.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from audit_cli_support import run
from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection

from workflow import Engine
from workflow.auditing import (
    AuditFilter,
    audit_rows,
    export_header,
    read_checkpoint,
    read_export,
    take_checkpoint,
    verify_log,
    write_audit_jsonl,
    write_checkpoint,
)
from workflow.hashchain.encoding import event_hash
from workflow.store.tables import audit_events, instances, outbox

KEY = b"kiem-toan-2024"
PAYMENT_FINAL = ("paid", "cancelled")


def _drop_append_only_triggers(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER audit_events_no_update_delete ON audit_events"))
    else:
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("DROP TRIGGER audit_events_no_delete"))


def _row(conn: Connection, instance_id: int, seq: int) -> dict[str, Any]:
    query = select(audit_events).where(
        audit_events.c.instance_id == instance_id, audit_events.c.seq == seq
    )
    return dict(conn.execute(query).one()._mapping)


def _set(conn: Connection, instance_id: int, at: int, **values: Any) -> None:
    conn.execute(
        update(audit_events)
        .where(audit_events.c.instance_id == instance_id, audit_events.c.seq == at)
        .values(**values)
    )


def _rehash(conn: Connection, instance_id: int, seq: int, **values: Any) -> str:
    row = {**_row(conn, instance_id, seq), **values}
    row["hash"] = event_hash(row)
    _set(conn, instance_id, seq, **values, hash=row["hash"])
    return str(row["hash"])


def _point_head(conn: Connection, instance_id: int, seq: int) -> None:
    last = _row(conn, instance_id, seq)
    conn.execute(
        update(instances)
        .where(instances.c.id == instance_id)
        .values(
            version=seq,
            last_hash=last["hash"],
            state=last["to_state"],
            data=json.loads(last["data"]),
            active=last["to_state"] not in PAYMENT_FINAL,
        )
    )


def edit_field(conn: Connection, a: int) -> None:
    _set(conn, a, 3, reason="đã sửa")


def _delete_events(conn: Connection, a: int, first: int, last: int) -> None:
    """Delete events first..last of a chain (and the outbox rows that point at them)."""
    chosen = (
        (audit_events.c.instance_id == a)
        & (audit_events.c.seq >= first)
        & (audit_events.c.seq <= last)
    )
    conn.execute(
        outbox.delete().where(outbox.c.audit_id.in_(select(audit_events.c.id).where(chosen)))
    )
    conn.execute(audit_events.delete().where(chosen))


def delete_row(conn: Connection, a: int) -> None:
    _delete_events(conn, a, 3, 3)


def swap_rows(conn: Connection, a: int) -> None:
    for old, new in ((2, -2), (3, 2), (-2, 3)):
        _set(conn, a, old, seq=new)


def truncate_tail(conn: Connection, a: int) -> None:
    _delete_events(conn, a, 4, 5)


def truncate_tail_and_head(conn: Connection, a: int) -> None:
    truncate_tail(conn, a)
    _point_head(conn, a, 3)


def recompute_one_hash(conn: Connection, a: int) -> None:
    _rehash(conn, a, 3, reason="đã sửa")


def rewrite_and_rehash_tail(conn: Connection, a: int) -> None:
    prev = _rehash(conn, a, 3, reason="đã sửa")
    for seq in (4, 5):
        prev = _rehash(conn, a, seq, prev_hash=prev)
    _point_head(conn, a, 5)


Mutation = Callable[[Connection, int], None]

# (mutation, needs a checkpoint, the first bad row named)
CASES: list[tuple[Mutation, bool, int]] = [
    (edit_field, False, 3),
    (delete_row, False, 3),
    (swap_rows, False, 2),
    (truncate_tail, False, 4),
    (truncate_tail_and_head, True, 4),
    (recompute_one_hash, False, 3),
    (rewrite_and_rehash_tail, True, 5),
]


@pytest.fixture
def chains(payment: Engine, clerk: Any) -> tuple[int, int]:
    """Instance A with 5 events and instance B with 2."""
    a = payment.start("payment", clerk).instance.id
    for paid in (10, 20, 30, 150):
        payment.fire(a, "pay", clerk, payload={"paid": paid})
    b = payment.start("payment", clerk).instance.id
    payment.fire(b, "cancel", clerk, reason="trùng")
    return a, b


def _tamper(engine: Engine, mutation: Mutation, a: int) -> None:
    with engine.db.begin() as conn:
        _drop_append_only_triggers(conn)
        mutation(conn, a)


def _checkpoint(engine: Engine) -> Any:
    buffer = io.StringIO()
    write_checkpoint(take_checkpoint(engine), buffer, KEY)
    buffer.seek(0)
    return read_checkpoint(buffer, KEY)


@pytest.mark.parametrize(("mutation", "needs_checkpoint", "first_bad"), CASES)
def test_tampering_in_the_database_is_named_by_its_first_bad_row(
    payment, chains, mutation, needs_checkpoint, first_bad
):
    a, _ = chains
    checkpoint = _checkpoint(payment)
    _tamper(payment, mutation, a)
    result = verify_log(audit_rows(payment), checkpoint=checkpoint)
    assert not result.ok
    assert {p.instance_id for p in result.problems} == {a}
    assert result.problems[0].seq == first_bad
    if needs_checkpoint:
        assert verify_log(audit_rows(payment)).ok, "a consistent rewrite needs the checkpoint"


@pytest.mark.parametrize("backend", ["sqlite"])  # offline: the database plays no part
@pytest.mark.parametrize(("mutation", "needs_checkpoint", "first_bad"), CASES)
def test_tampering_is_found_in_an_export_offline(
    payment, chains, mutation, needs_checkpoint, first_bad
):
    a, _ = chains
    checkpoint = _checkpoint(payment)
    _tamper(payment, mutation, a)
    buffer = io.StringIO()
    write_audit_jsonl(audit_rows(payment), buffer, export_header({}, True, payment.now()))
    buffer.seek(0)
    export = read_export(buffer)
    result = verify_log(export.events, whole_chains=export.whole_chains, checkpoint=checkpoint)
    assert [p.seq for p in result.problems][:1] == [first_bad]


def test_cli_verify_exits_3_and_names_instance_and_event(payment, chains, database_url):
    a, _ = chains
    _tamper(payment, edit_field, a)
    result = run(database_url, "audit", "verify")
    assert result.code == 3
    assert f"instance {a}, event 3: content does not match its hash" in result.out
    assert result.err.strip() == "error: audit verification failed for 1 chain"


@pytest.mark.parametrize("backend", ["sqlite"])  # the CLI path; the backend matrix is above
def test_cli_verify_reports_every_broken_chain(payment, chains, database_url):
    a, b = chains
    with payment.db.begin() as conn:
        _drop_append_only_triggers(conn)
        edit_field(conn, a)
        _set(conn, b, 1, actor="mallory")
    result = run(database_url, "audit", "verify", "--json")
    assert result.code == 3
    found = [(p["instance_id"], p["seq"]) for p in result.json()["problems"]]
    assert found == [(a, 3), (b, 1)]


@pytest.mark.parametrize("backend", ["sqlite"])  # the CLI path; the backend matrix is above
def test_cli_checkpoint_catches_a_truncation_the_chain_cannot(
    payment, chains, database_url, tmp_path
):
    a, _ = chains
    saved = tmp_path / "cp.json"
    env = {"WORKFLOW_AUDIT_KEY": KEY.decode()}
    assert run(database_url, "audit", "checkpoint", "-o", str(saved), env=env).code == 0
    _tamper(payment, truncate_tail_and_head, a)
    assert run(database_url, "audit", "verify").code == 0
    result = run(database_url, "audit", "verify", "--checkpoint", str(saved), env=env)
    assert result.code == 3
    assert f"instance {a}, event 4: events 4..5 were removed since the checkpoint" in result.out


@pytest.mark.parametrize("backend", ["sqlite"])  # the CLI path; the backend matrix is above
def test_edited_checkpoint_is_refused_as_tampering(payment, chains, database_url, tmp_path):
    saved = tmp_path / "cp.json"
    env = {"WORKFLOW_AUDIT_KEY": KEY.decode()}
    run(database_url, "audit", "checkpoint", "-o", str(saved), env=env)
    saved.write_text(saved.read_text().replace('"length": 5', '"length": 4'))
    result = run(database_url, "audit", "verify", "--checkpoint", str(saved), env=env)
    assert result.code == 3
    assert "signature does not match" in result.err


@pytest.mark.parametrize("backend", ["sqlite"])  # the CLI path; the backend matrix is above
def test_signed_checkpoint_needs_the_key(payment, chains, database_url, tmp_path):
    saved = tmp_path / "cp.json"
    run(database_url, "audit", "checkpoint", "-o", str(saved), env={"WORKFLOW_AUDIT_KEY": "k"})
    result = run(database_url, "audit", "verify", "--checkpoint", str(saved))
    assert result.code == 2
    assert "set WORKFLOW_AUDIT_KEY" in result.err


@pytest.mark.parametrize("backend", ["sqlite"])  # the CLI path; the backend matrix is above
@pytest.mark.usefixtures("chains")
def test_filtered_export_is_verified_as_far_as_it_goes(payment):
    buffer = io.StringIO()
    flt = AuditFilter(trigger="pay")
    write_audit_jsonl(audit_rows(payment, flt), buffer, export_header({}, False, payment.now()))
    buffer.seek(0)
    export = read_export(buffer)
    result = verify_log(export.events, whole_chains=export.whole_chains)
    assert result.ok
    assert (result.chains, result.events, result.partial_chains) == (1, 4, 1)


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL's column refuses text outright
def test_a_text_instance_id_edited_into_the_log_is_reported_not_a_crash(
    payment, chains, database_url
):
    """SQLite keeps whatever is written into an INTEGER column: the verifier reports it."""
    a, _ = chains
    writer = sqlite3.connect(str(payment.db.url.database))  # foreign keys off, as by default
    with writer:
        writer.execute("DROP TRIGGER audit_events_no_update")
        writer.execute("UPDATE audit_events SET instance_id = 'x' WHERE instance_id = ?", (a,))
    writer.close()
    report = payment.verify()
    assert not report.ok
    assert {a, "x"} & {p.instance_id for p in report.problems}
    assert run(database_url, "audit", "verify").code == 3
