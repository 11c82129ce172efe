"""Logs: one structured event per applied transition and per refusal; no payload values."""

from __future__ import annotations

import logging

import pytest
from structlog.testing import capture_logs

from workflow import Actor, PermissionDenied
from workflow.logs import get_logger

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


def test_an_application_that_configured_no_logging_sees_nothing_on_stdout(
    payment, clerk, capsys
):
    instance = payment.start("payment", clerk).instance
    capsys.readouterr()
    payment.fire(instance.id, "pay", clerk, payload={"paid": 150})
    assert capsys.readouterr() == ("", "")


def test_unconfigured_the_events_go_to_stdlib_logging(payment, clerk, caplog):
    instance = payment.start("payment", clerk).instance
    with caplog.at_level(logging.INFO, logger="workflow"):
        payment.fire(instance.id, "pay", clerk, payload={"paid": 150, "note": SECRET})
    [applied] = [r for r in caplog.records if "transition.applied" in r.getMessage()]
    assert (applied.name, applied.levelno) == ("workflow", logging.INFO)
    assert f"instance={instance.id}" in applied.getMessage()
    assert SECRET not in caplog.text


def test_unconfigured_only_warnings_pass_logging_default_level(caplog):
    get_logger("workflow.test").warning("timer.failed", timer=7)
    get_logger("workflow.test").info("timer.fired", timer=8)
    assert [r.getMessage() for r in caplog.records] == ["event='timer.failed' timer=7"]
