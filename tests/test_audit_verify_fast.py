"""Engine.verify reads the driver's rows directly; it reports exactly what the generic verifier
reports over the joined rows (the path it replaced), for a clean log and for every tampering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from test_audit_tampering import CASES, _drop_append_only_triggers, _rehash

from workflow import ChainProblem, Engine
from workflow.auditing import audit_rows, headless_chains, instances_without_events, verify_log
from workflow.hashchain.encoding import format_instant
from workflow.store.chains import _sqlite_instant, chain_source
from workflow.store.tables import audit_events
from workflow.store.transactions import read_transaction

ODD_TEXT = 'ồ "trích" \\ \n\t\u2028 ☃ 𝄞'


@pytest.fixture
def chains(payment: Engine, clerk: Any) -> tuple[int, int]:
    """Instance A with 5 events (text that JSON must escape among them) and instance B with 2."""
    a = payment.start("payment", clerk, data={"note": ODD_TEXT}).instance.id
    for paid in (10, 20, 30, 150):
        payment.fire(a, "pay", clerk, payload={"paid": paid, "note": f"{paid} {ODD_TEXT}"})
    b = payment.start("payment", clerk).instance.id
    payment.fire(b, "cancel", clerk, reason=ODD_TEXT)
    return a, b


def as_before(engine: Engine) -> tuple[int, int, list[str]]:
    """The report of the generic path: the verifier over the joined rows, then the chains whose
    instance row is gone, then the instances without events."""
    result = verify_log(audit_rows(engine))
    headless = headless_chains(engine)
    orphans = [
        ChainProblem(i, None, "instance has no audit events")
        for i in sorted(instances_without_events(engine))
    ]
    problems = [*result.problems, *headless, *orphans]
    chains = result.chains + len(headless) + len(orphans)
    return chains, result.events, [str(p) for p in problems]


def verified(engine: Engine) -> tuple[int, int, list[str]]:
    report = engine.verify()
    return report.chains, report.events, [str(p) for p in report.problems]


def _sql(conn: Connection, statement: str, **params: Any) -> None:
    conn.execute(text(statement), params)


def respell_instant(conn: Connection, a: int) -> None:
    """SQLite: the same instant stored in another spelling; PostgreSQL: the year 999."""
    if conn.dialect.name == "sqlite":
        _sql(conn, "UPDATE audit_events SET occurred_at = replace(occurred_at, ' ', 'T')"
             " WHERE instance_id = :a AND seq = 2", a=a)  # fmt: skip
    else:
        _sql(conn, "UPDATE audit_events SET occurred_at = occurred_at - interval '1100 years'"
             " WHERE instance_id = :a AND seq = 2", a=a)  # fmt: skip


def shift_instant(conn: Connection, a: int) -> None:
    _sql(conn, "UPDATE audit_events SET occurred_at = :t WHERE instance_id = :a AND seq = 4",
         a=a, t="2031-02-03 04:05:06.000007")  # fmt: skip


def rehash_odd_text(conn: Connection, a: int) -> None:
    _rehash(conn, a, 5, reason=ODD_TEXT + "\x01")


def edit_head_version(conn: Connection, a: int) -> None:
    _sql(conn, "UPDATE instances SET version = version + 1 WHERE id = :a", a=a)


def edit_head_hash(conn: Connection, a: int) -> None:
    _sql(conn, "UPDATE instances SET last_hash = :h WHERE id = :a", a=a, h="f" * 64)


def delete_whole_chain(conn: Connection, a: int) -> None:
    _sql(conn, "DELETE FROM outbox WHERE instance_id = :a", a=a)
    _sql(conn, "DELETE FROM audit_events WHERE instance_id = :a", a=a)


Mutation = Callable[[Connection, int], None]
# (mutation, whether the chains alone show it): a consistent rewrite needs a checkpoint, and
# another spelling of the same instant in SQLite's text is the same event.
MUTATIONS: list[tuple[Mutation, bool]] = [
    *((mutation, not needs_checkpoint) for mutation, needs_checkpoint, _ in CASES),
    (respell_instant, False),
    (shift_instant, True),
    (rehash_odd_text, True),
    (edit_head_version, True),
    (edit_head_hash, True),
    (delete_whole_chain, True),
]


def test_a_clean_log_with_text_to_escape_is_reported_as_before(payment, chains):
    assert verified(payment) == as_before(payment) == (2, 7, [])


@pytest.mark.parametrize(
    ("mutation", "detected"), MUTATIONS, ids=[m.__name__ for m, _ in MUTATIONS]
)
def test_each_tampering_is_reported_as_before(payment, chains, mutation, detected):
    a, _ = chains
    with payment.db.begin() as conn:
        _drop_append_only_triggers(conn)
        mutation(conn, a)
    expected = as_before(payment)
    assert verified(payment) == expected
    if mutation is respell_instant and payment.db.dialect.name == "postgresql":
        detected = True  # the year 999: a different instant
    assert bool(expected[2]) == detected


def test_events_of_a_missing_instance_are_reported_as_a_broken_chain(payment, chains):
    """An instance row deleted with the foreign keys off, to hide its history."""
    a, _ = chains
    if payment.db.dialect.name == "postgresql":
        with payment.db.begin() as conn:
            _sql(conn, "SET LOCAL session_replication_role = replica")  # no foreign keys
            _sql(conn, "DELETE FROM instances WHERE id = :a", a=a)
    else:
        raw = payment.db.raw_connection()  # PRAGMA foreign_keys works outside a transaction
        try:
            raw.execute("PRAGMA foreign_keys = OFF")
            raw.execute("DELETE FROM instances WHERE id = ?", (a,))
            raw.execute("PRAGMA foreign_keys = ON")
        finally:
            raw.close()
    missing = f"instance {a}, instance row: the instance row is missing while its audit events"
    assert verified(payment) == as_before(payment) == (2, 2, [f"{missing} remain (deleted)"])


def test_one_instance_is_verified_alone(payment, chains):
    a, b = chains
    with payment.db.begin() as conn:
        _drop_append_only_triggers(conn)
        delete_whole_chain(conn, b)
    report = payment.verify(a)
    assert (report.chains, report.events, report.problems) == (1, 5, [])
    assert payment.verify(b).chains == 0
    assert [str(p) for p in payment.verify().problems] == [
        f"instance {b}, instance row: instance has no audit events"
    ]


@pytest.mark.parametrize("stored", [
    "2026-01-05 08:00:00.000000",  # what SQLAlchemy writes
    "2026-01-05 08:00:00.123456",
    "2026-01-05T08:00:00",
    "2026-01-05 08:00:00.1234567",
    "2026-W02-1 08:00:00.000000",
    "2026-01-05 08:00:00,000000",
    "20260105T080000",
    "0999-01-05 08:00:00.000000",
    "2026-13-05 08:00:00.000000",
    "2026-01-05 08:00:00.00000a",
    "2026-01-05 08:00:00.000000+07:00",
    "2026-01-05 08:00:00+07:00",
    "2026-02-30 08:00:00.000000",
    "tomorrow",
])  # fmt: skip
def test_a_stored_sqlite_instant_is_spelled_as_the_hash_reads_it(stored):
    """The fast spelling of occurred_at is the one of SQLAlchemy's reading, or none at all."""
    dialect = sqlite.dialect()
    read = audit_events.c.occurred_at.type.dialect_impl(dialect).result_processor(dialect, None)
    try:
        exact = f'"{format_instant(read(stored))}"'
    except ValueError:
        exact = None
    try:
        fast = _sqlite_instant(stored)
    except ValueError:
        fast = None
    assert fast == exact or (fast is None and exact is not None)
    if stored in ("2026-01-05 08:00:00.000000", "2026-01-05 08:00:00.123456"):
        # SQLAlchemy's own spelling takes the fast path
        assert fast is not None


def _leave_early(engine: Engine) -> None:
    with read_transaction(engine.db, snapshot=True) as conn, chain_source(conn) as source:
        next(iter(source.rows))
        raise RuntimeError("stop")


@pytest.mark.timeout(60)
def test_a_read_left_early_gives_its_connection_back(payment, chains):
    """PostgreSQL's stream holds the connection until closed: leaving early must close it."""
    with pytest.raises(RuntimeError, match="stop"):
        _leave_early(payment)
    assert verified(payment) == (2, 7, [])
