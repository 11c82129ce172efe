"""Expressions driving real fires on both backends: OrderControl's running total in YAML alone,
and the audit replay reproducing every computed value (an edited one is caught)."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_attacks import drop_append_only_triggers, edit_event

from workflow import Actor, Engine, GuardFailed, InvalidInput

ORDER = Path(__file__).parents[1] / "examples" / "peers" / "order_control.yaml"
CUSTOMER = Actor("an", ["customer"])


@pytest.fixture
def order(engine: Engine) -> int:
    engine.deploy(ORDER, actor="admin")
    instance = engine.start("order_control", CUSTOMER).instance
    engine.fire(instance.id, "add_to_order", CUSTOMER, payload={"amount": 100})
    engine.fire(instance.id, "add_to_order", CUSTOMER, payload={"amount": 50})
    return instance.id


def test_underpaying_never_reaches_processing(engine: Engine, order: int) -> None:
    """The issue's case: paid 10 on a 150 order while claiming nothing more is owed."""
    claimed = {"amount": 10, "payments_total": 150, "order_total": 10}
    result = engine.fire(order, "receive_payment", CUSTOMER, payload=claimed)
    assert result.state == "waiting_for_payment"
    assert result.instance.data == {"order_total": 150.0, "payments_total": 10.0}


@pytest.mark.parametrize(("payments", "state", "paid"), [
    ([150], "processing", 150.0),
    ([100, 50], "processing", 150.0),
    ([40, 200], "processing", 240.0),
])
def test_exact_and_over_payment_move_on(
    engine: Engine, order: int, payments: list[int], state: str, paid: float
) -> None:
    for amount in payments:
        result = engine.fire(order, "receive_payment", CUSTOMER, payload={"amount": amount})
    assert (result.state, result.instance.data["payments_total"]) == (state, paid)


def test_a_guard_expression_refusal_names_the_missing_field(engine: Engine, order: int) -> None:
    with pytest.raises(GuardFailed) as refused:
        engine.fire(order, "receive_payment", CUSTOMER, payload={})
    assert refused.value.missing_fields == ("amount",)
    assert "payload.amount is missing" in str(refused.value)


def test_a_failed_computation_changes_nothing(engine: Engine) -> None:
    engine.deploy(ORDER, actor="admin")
    instance = engine.start("order_control", CUSTOMER).instance
    with pytest.raises(GuardFailed, match="must be double, not string"):
        engine.fire(instance.id, "add_to_order", CUSTOMER, payload={"amount": "lots"})
    assert engine.get(instance.id).version == 1


def test_an_effect_that_cannot_be_computed_is_refused(engine: Engine) -> None:
    """The guard passes (it reads nothing), the computation finds a payload of the wrong type:
    the fire is refused as bad input and writes nothing."""
    engine.deploy_text(ORDER.read_text().replace('"payload.amount > 0.0"', '"true"'),
                       filename="o.yaml")
    instance = engine.start("order_control", CUSTOMER).instance
    with pytest.raises(InvalidInput, match=r"payload\.amount must be double, not bool"):
        engine.fire(instance.id, "add_to_order", CUSTOMER, payload={"amount": True})
    assert engine.get(instance.id).version == 1


def test_verify_replays_every_computed_value(engine: Engine, order: int) -> None:
    engine.fire(order, "receive_payment", CUSTOMER, payload={"amount": 60})
    engine.fire(order, "receive_payment", CUSTOMER, payload={"amount": 90})
    assert engine.fire(order, "process_order", Actor("kho", ["warehouse"])).state == "shipping"
    assert engine.verify().ok
    # An insider who rewrites a computed total and recomputes the whole chain's hashes is still
    # caught: the replay computes the total again from the payloads.
    with engine.db.begin() as conn:
        drop_append_only_triggers(conn)
        edit_event(conn, order, 3, data='{"order_total":15.0,"payments_total":0.0}')
    report = engine.verify()
    assert not report.ok
    assert report.problems[0].seq == 3
    assert "does not follow from the data before it" in report.problems[0].problem
