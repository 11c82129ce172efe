"""Logs: one structured event per applied transition and per refusal; no payload values."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from workflow import Actor, PermissionDenied

SECRET = "số-tài-khoản-0123456789"


def test_applied_transition_is_one_structured_event(payment, clerk):
    instance = payment.start("payment", clerk).instance
    with capture_logs() as logs:
        payment.fire(instance.id, "pay", clerk, payload={"paid": 150, "note": SECRET})
    applied = [e for e in logs if e["event"] == "transition.applied"]
    assert len(applied) == 1
    event = applied[0]
    assert (event["instance"], event["trigger"], event["from_state"], event["to_state"],
            event["actor"]) == (instance.id, "pay", "open", "paid", "clerk-1")
    assert event["duration_ms"] >= 0


def test_payload_values_are_never_logged(payment, clerk):
    instance = payment.start("payment", clerk).instance
    with capture_logs() as logs:
        payment.fire(instance.id, "pay", clerk, payload={"paid": 150, "note": SECRET})
    assert SECRET not in repr(logs)


def test_refused_attempt_is_logged_not_chained(payment, clerk):
    instance = payment.start("payment", clerk).instance
    with capture_logs() as logs, pytest.raises(PermissionDenied):
        payment.fire(instance.id, "pay", Actor("x", ["auditor"]), payload={"paid": 150})
    assert [e["error"] for e in logs if e["event"] == "transition.refused"] == [
        "PermissionDenied"]
    assert len(payment.history(instance.id)) == 1
