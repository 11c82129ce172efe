"""The audit log: hash-chained per instance, append-only in the database, verifiable."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from workflow.hashchain.encoding import GENESIS, event_hash


@pytest.fixture
def paid(payment, clerk):
    instance = payment.start("payment", clerk).instance
    payment.fire(instance.id, "pay", clerk, payload={"paid": 40})
    payment.fire(instance.id, "pay", clerk, payload={"paid": 140})
    return instance.id


def test_each_event_links_to_the_previous_one(payment, paid):
    events = payment.history(paid)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]


def test_event_records_actor_roles_definition_and_time(payment, paid, clock):
    last = payment.history(paid)[-1]
    assert (last.actor, last.actor_roles, last.trigger) == ("clerk-1", ("clerk",), "pay")
    assert (last.from_state, last.to_state) == ("open", "paid")
    assert (last.workflow, last.definition_version) == ("payment", 1)
    assert last.occurred_at == clock.now()
    assert last.occurred_at.tzinfo is not None


def test_a_clean_log_verifies(payment, paid):
    report = payment.verify()
    assert report.ok
    assert (report.chains, report.events) == (1, 3)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET actor = 'mallory'",
    "DELETE FROM audit_events",
])
def test_the_database_refuses_to_change_audit_rows(payment, paid, statement):
    with pytest.raises(DBAPIError, match="append-only"), payment.db.begin() as conn:
        conn.execute(text(statement))
    assert len(payment.history(paid)) == 3


def _drop_append_only_guard(conn, backend):
    if backend == "sqlite":
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        conn.execute(text("DROP TRIGGER audit_events_no_update_delete ON audit_events"))


def test_an_edited_event_is_found(payment, paid, backend):
    with payment.db.begin() as conn:
        _drop_append_only_guard(conn, backend)
        conn.execute(text("UPDATE audit_events SET reason = 'edited' WHERE seq = 2"))
    problems = payment.verify().problems
    assert [(p.instance_id, p.seq) for p in problems] == [(paid, 2)]
    assert "edited" in problems[0].problem


def test_a_deleted_event_is_found(payment, paid, backend):
    with payment.db.begin() as conn:
        _drop_append_only_guard(conn, backend)
        conn.execute(text("DELETE FROM outbox WHERE audit_id IN "
                          "(SELECT id FROM audit_events WHERE seq = 2)"))
        conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    problems = payment.verify().problems
    assert [(p.instance_id, p.seq) for p in problems] == [(paid, 2)]


def test_instance_state_that_disagrees_with_the_log_is_found(payment, paid):
    with payment.db.begin() as conn:
        conn.execute(text("UPDATE instances SET state = 'open'"))
    problems = payment.verify().problems
    assert len(problems) == 1
    assert "not the last event's destination" in problems[0].problem


def test_hash_covers_every_recorded_field(payment, paid):
    event = payment.history(paid)[-1]
    row = {
        "instance_id": event.instance_id, "seq": event.seq, "kind": event.kind,
        "trigger": event.trigger, "from_state": event.from_state, "to_state": event.to_state,
        "actor": event.actor, "actor_roles": '["clerk"]', "actor_unit": None,
        "reason": None, "payload": '{"paid":140}', "data": '{"paid":140}',
        "workflow": "payment", "definition_version": 1,
        "definition_hash": event.definition_hash, "occurred_at": event.occurred_at,
        "prev_hash": event.prev_hash,
    }
    assert event_hash(row) == event.hash
    assert event_hash({**row, "actor": "mallory"}) != event.hash
