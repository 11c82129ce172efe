"""The chain writer reads and writes, on the driver's cursor, exactly what Core would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.exc import IntegrityError
from support import PAYMENT, postgres_schema_url

from workflow import DatabaseUnavailable, Engine
from workflow.hashchain.sealing import audit_record
from workflow.store import chain_writer as writer
from workflow.store import repository as repo
from workflow.store.tables import audit_events, outbox, timers
from workflow.store.transactions import write_transaction


def _started(payment: Engine, clerk) -> int:
    return payment.start(
        "payment",
        clerk,
        data={"amount": 150, "note": "Kế hoạch số 19"},
        unit="ban-tuyen-giao",
        coordinating_units=["van-phong", "uy-ban-kiem-tra"],
        item_key="plan",
    ).instance.id


def _change(payment: Engine, instance_id: int, **overrides) -> writer.Step:
    row = payment.get(instance_id)
    audit = audit_record(
        instance_id=instance_id,
        seq=row.version + 1,
        kind="transition",
        trigger="pay",
        from_state=row.state,
        to_state="paid",
        actor="clerk-1",
        actor_roles=["clerk"],
        actor_unit=None,
        reason=None,
        payload={"paid": 987654},
        data={"paid": 987654},
        workflow="payment",
        definition_version=1,
        definition_hash="0" * 64,
        occurred_at=payment.now(),
        prev_hash="0" * 64,
    )
    change = writer.Step(
        instance_id=instance_id,
        seen_version=row.version,
        definition_version=1,
        state="paid",
        data_json=writer.to_json({"paid": 987654}),
        active=False,
        due_at=None,
        now=payment.now(),
        audit=audit,
        topic="payment.pay.paid",
        enters_state=True,
    )
    return change._replace(**overrides)


def _counts(payment: Engine) -> tuple[int, int]:
    with payment.db.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(audit_events)).scalar_one(),
            conn.execute(select(func.count()).select_from(outbox)).scalar_one(),
        )


def test_the_instance_row_equals_what_core_reads(payment, clerk):
    instance_id = _started(payment, clerk)
    with payment.transaction() as conn:
        by_core = dict(repo.instance_row(conn, instance_id)._mapping)
        locked = writer.read_for_update(conn, instance_id)
    assert locked is not None
    assert locked.row == by_core


def _timer(conn, instance_id: int, status: str) -> None:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    conn.execute(
        insert(timers).values(
            instance_id=instance_id, state="open", trigger="pay", due_at=now, status=status,
            entered_version=1, attempts=0, created_at=now,
        )
    )  # fmt: skip


@pytest.mark.parametrize(
    ("statuses", "live"),
    [((), False), (("fired", "cancelled", "failed"), False), (("pending",), True),
     (("cancelled", "leased"), True)],
)  # fmt: skip
def test_the_read_says_whether_the_instance_has_live_timers(payment, clerk, statuses, live):
    """Only a pending or leased timer is live; PostgreSQL's step does not need to know."""
    instance_id = _started(payment, clerk)
    with payment.transaction() as conn:
        for status in statuses:
            _timer(conn, instance_id, status)
        locked = writer.read_for_update(conn, instance_id)
    assert locked is not None
    assert locked.timers_live is (live or payment.db.dialect.name == "postgresql")


@pytest.mark.parametrize("status", writer.LIVE_TIMER_STATUSES)
def test_a_step_leaving_the_state_cancels_a_live_timer(payment, clerk, status):
    instance_id = _started(payment, clerk)
    with payment.transaction() as conn:
        _timer(conn, instance_id, status)
        _timer(conn, instance_id, "fired")
    payment.fire(instance_id, "pay", clerk, payload={"paid": 150})
    with payment.read_transaction() as conn:
        left = sorted(conn.execute(select(timers.c.status)).scalars())
    assert left == ["cancelled", "fired"]


def test_a_missing_instance_reads_as_none(payment):
    with payment.transaction() as conn:
        assert writer.read_for_update(conn, 424242) is None


def test_a_write_on_a_version_that_moved_writes_nothing(payment, clerk):
    instance_id = _started(payment, clerk)
    before = _counts(payment)
    with payment.transaction() as conn:
        stale = _change(payment, instance_id, seen_version=7)
        assert writer.write_step(conn, stale) is None
    assert _counts(payment) == before
    assert payment.get(instance_id).state == "open"


def test_a_write_stores_the_instance_audit_row_and_outbox_row(payment, clerk):
    instance_id = _started(payment, clerk)
    change = _change(payment, instance_id)
    with payment.transaction() as conn:
        audit_id = writer.write_step(conn, change)
    stored = payment.get(instance_id)
    assert (stored.state, stored.version, stored.active) == ("paid", 2, False)
    assert stored.data == {"paid": 987654}
    assert stored.updated_at == change.now
    event = payment.history(instance_id)[-1]
    assert (event.id, event.hash, event.occurred_at) == (
        audit_id,
        change.audit["hash"],
        change.now,
    )


def test_a_driver_error_is_raised_as_sqlalchemys_without_the_values(payment, clerk):
    instance_id = _started(payment, clerk)
    duplicate_seq = _change(payment, instance_id)
    duplicate_seq = duplicate_seq._replace(audit={**duplicate_seq.audit, "seq": 1})
    # under Engine.transaction(), which turns a unique violation into ConcurrentModification
    with pytest.raises(IntegrityError) as caught, write_transaction(payment.db) as conn:
        writer.write_step(conn, duplicate_seq)
    assert "987654" not in str(caught.value)


@pytest.fixture
def postgres_payment(postgres_server_url: str) -> Iterator[Engine]:
    url = postgres_schema_url(postgres_server_url)
    with Engine(url, check_schema=False) as setup:
        setup.upgrade_schema()
    with Engine.open(url) as engine:
        engine.deploy_text(PAYMENT, filename="payment.yaml")
        yield engine


def _read_after_the_server_drops_the_connection(
    engine: Engine, admin: SAEngine, instance_id: int
) -> None:
    with write_transaction(engine.db) as conn:
        backend_pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
        writer.read_for_update(conn, instance_id)


def test_a_connection_dropped_mid_transaction_is_invalidated_and_replaced(
    postgres_payment, clerk, postgres_server_url
):
    instance_id = _started(postgres_payment, clerk)
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with pytest.raises(DatabaseUnavailable) as caught:
        _read_after_the_server_drops_the_connection(postgres_payment, admin, instance_id)
    admin.dispose()
    assert "the server closed the connection" in str(caught.value)
    fired = postgres_payment.fire(instance_id, "pay", clerk, payload={"paid": 120})
    assert fired.instance.version == 2
