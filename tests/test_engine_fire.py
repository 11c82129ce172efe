"""Firing triggers: branching, guards, roles, versions, idempotency, atomicity; each called
directly, through the async engine on an event loop, and inside the caller's own transaction
(``api_modes``): one behaviour for the three."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_modes import MODES, driven
from sqlalchemy import func, select
from support import PAYMENT

from workflow import (
    Actor,
    ConcurrentModification,
    Engine,
    GuardFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownTrigger,
    _steps,
)
from workflow.store.tables import audit_events, instances, outbox


@pytest.fixture(params=MODES)
def payment(engine: Engine, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The payment workflow deployed, the engine called the way the mode says."""
    engine.deploy_text(PAYMENT, filename="payment.yaml")
    with driven(engine, request.param) as api:
        yield api


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.db.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (instances, audit_events, outbox)
        )


def test_start_puts_instance_in_initial_state_with_one_audit_event(payment, clerk):
    result = payment.start("payment", clerk, data={"amount": 150})
    assert result.instance.state == "open"
    assert result.instance.version == 1
    assert [e.kind for e in payment.history(result.instance.id)] == ["start"]


def test_first_branch_whose_guards_pass_wins(payment, clerk):
    instance = payment.start("payment", clerk).instance
    assert payment.fire(instance.id, "pay", clerk, payload={"paid": 50}).state == "open"
    assert payment.fire(instance.id, "pay", clerk, payload={"paid": 150}).state == "paid"


def test_merge_effect_copies_declared_payload_fields(payment, clerk):
    instance = payment.start("payment", clerk).instance
    result = payment.fire(instance.id, "pay", clerk, payload={"paid": 120, "note": "Đã trả"})
    assert result.instance.data == {"paid": 120, "note": "Đã trả"}


def test_guard_failure_names_the_missing_fields(payment, clerk):
    instance = payment.start("payment", clerk).instance
    with pytest.raises(GuardFailed) as caught:
        payment.fire(instance.id, "pay", clerk, payload={})
    assert caught.value.missing_fields == ("paid",)
    assert "paid" in str(caught.value)


def test_actor_without_the_role_is_refused(payment, clerk):
    instance = payment.start("payment", clerk).instance
    with pytest.raises(PermissionDenied, match="needs one of the roles clerk"):
        payment.fire(instance.id, "pay", Actor("mallory", ["auditor"]), payload={"paid": 500})


def test_unknown_trigger_lists_the_known_ones(payment, clerk):
    instance = payment.start("payment", clerk).instance
    with pytest.raises(UnknownTrigger, match="known triggers: pay, cancel"):
        payment.fire(instance.id, "refund", clerk)


def test_trigger_not_allowed_from_a_final_state(payment, clerk):
    instance = payment.start("payment", clerk).instance
    payment.fire(instance.id, "pay", clerk, payload={"paid": 100})
    with pytest.raises(TransitionNotAllowed):
        payment.fire(instance.id, "pay", clerk, payload={"paid": 100})


def test_missing_instance_is_not_found(payment, clerk):
    with pytest.raises(NotFound):
        payment.fire(999_999, "pay", clerk)


@pytest.mark.parametrize("bad_id", [0, -1, 2**70])
def test_out_of_range_instance_ids_are_not_found(payment, clerk, bad_id):
    with pytest.raises(NotFound):
        payment.fire(bad_id, "pay", clerk)


def test_required_reason_is_enforced(payment, clerk):
    instance = payment.start("payment", clerk).instance
    with pytest.raises(InvalidInput, match="requires a reason"):
        payment.fire(instance.id, "cancel", clerk)
    assert payment.fire(instance.id, "cancel", clerk, reason="trùng lặp").state == "cancelled"


def test_stale_expected_version_is_refused_and_changes_nothing(payment, clerk):
    instance = payment.start("payment", clerk).instance
    payment.fire(instance.id, "pay", clerk, payload={"paid": 10})
    before = counts(payment)
    with pytest.raises(ConcurrentModification):
        payment.fire(instance.id, "pay", clerk, payload={"paid": 10}, expected_version=1)
    assert counts(payment) == before


def test_repeated_idempotency_key_applies_once(payment, clerk):
    instance = payment.start("payment", clerk).instance
    first = payment.fire(instance.id, "pay", clerk, payload={"paid": 10}, idempotency_key="k-1")
    again = payment.fire(instance.id, "pay", clerk, payload={"paid": 10}, idempotency_key="k-1")
    assert not first.replayed
    assert again.replayed
    assert again.event == first.event
    assert payment.get(instance.id).version == 2


def test_failure_between_state_update_and_audit_insert_leaves_neither(payment, clerk, monkeypatch):
    instance = payment.start("payment", clerk).instance
    before = counts(payment)
    real_audit_record = _steps.audit_record

    def audit_reusing_seq_1(**fields):
        # The instance update runs, then the audit insert breaks the (instance, seq) key.
        return real_audit_record(**{**fields, "seq": 1})

    monkeypatch.setattr(_steps, "audit_record", audit_reusing_seq_1)
    with pytest.raises(ConcurrentModification):
        payment.fire(instance.id, "pay", clerk, payload={"paid": 500})
    monkeypatch.undo()
    assert counts(payment) == before
    assert payment.get(instance.id).state == "open"
    assert payment.verify().ok


def test_every_transition_writes_an_outbox_row(payment, clerk):
    instance = payment.start("payment", clerk).instance
    payment.fire(instance.id, "pay", clerk, payload={"paid": 150})
    assert counts(payment) == (1, 2, 2)


def test_undeclared_or_mistyped_payload_fields_are_refused(payment, clerk):
    instance = payment.start("payment", clerk).instance
    with pytest.raises(InvalidInput, match="paid: must be a number"):
        payment.fire(instance.id, "pay", clerk, payload={"paid": "lots"})


def test_oversized_payload_is_refused(payment, clerk):
    instance = payment.start("payment", clerk).instance
    with pytest.raises(InvalidInput, match="larger than the limit"):
        payment.fire(instance.id, "pay", clerk, payload={"note": "x" * 70_000, "paid": 1})


def test_vietnamese_text_round_trips_unchanged(payment, clerk):
    note = "Kế hoạch cụ thể hóa Nghị quyết Đại hội — ĐUK"
    instance = payment.start("payment", clerk, data={"note": note}).instance
    assert payment.get(instance.id).data["note"] == note
    assert payment.history(instance.id)[0].data["note"] == note
