"""Pruning the outbox: delivered rows older than a cutoff go; undelivered work always stays."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from cli_runner import run_cli
from sqlalchemy import select

from workflow import InvalidInput
from workflow.events import (
    EventBus,
    RetryPolicy,
    dispatch_pending,
    list_events,
    prune_delivered,
    retention,
)
from workflow.store.chain_writer import os_user
from workflow.store.tables import admin_events


def _failing(_event: object) -> None:
    raise RuntimeError("receiver is down")


def _bus(handler=lambda _event: None) -> EventBus:
    bus = EventBus()
    bus.on("*", handler, name="sink")
    return bus


def _statuses(engine) -> list[str]:
    return sorted(e.status for e in list_events(engine, limit=1000))


def test_delivered_events_older_than_the_cutoff_are_deleted(payment, clerk, clock):
    for _ in range(3):
        payment.start("payment", clerk)
    dispatch_pending(payment, _bus())
    clock.advance(timedelta(days=31))
    assert prune_delivered(payment, before=clock.now() - timedelta(days=30)) == 3
    assert list_events(payment) == []


def test_events_delivered_after_the_cutoff_stay(payment, clerk, clock):
    payment.start("payment", clerk)
    dispatch_pending(payment, _bus())
    clock.advance(timedelta(days=10))
    assert prune_delivered(payment, before=clock.now() - timedelta(days=30)) == 0
    assert _statuses(payment) == ["delivered"]


def test_pending_and_dead_events_are_never_pruned(payment, clerk, clock):
    payment.start("payment", clerk)
    dispatch_pending(payment, _bus(_failing), policy=RetryPolicy(max_attempts=1))
    payment.start("payment", clerk)
    clock.advance(timedelta(days=400))
    assert prune_delivered(payment, before=clock.now()) == 0
    assert _statuses(payment) == ["dead", "pending"]


def test_a_backlog_larger_than_a_batch_is_pruned_in_several_transactions(
    payment, clerk, clock, monkeypatch
):
    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)
    for _ in range(5):
        payment.start("payment", clerk)
    dispatch_pending(payment, _bus())
    clock.advance(timedelta(days=1))
    assert prune_delivered(payment, before=clock.now()) == 5
    assert list_events(payment) == []


def test_a_pruning_is_recorded_in_the_administrators_chain(payment, clerk, clock):
    payment.start("payment", clerk)
    dispatch_pending(payment, _bus())
    clock.advance(timedelta(days=2))
    prune_delivered(payment, before=clock.now() - timedelta(days=1), by="ops")
    with payment.db.connect() as conn:
        last = conn.execute(select(admin_events).order_by(admin_events.c.seq.desc())).first()
    assert (last.action, last.actor, json.loads(last.detail)) == (
        "events.prune",
        "ops",
        {"deleted": 1, "os_user": os_user()},
    )


@pytest.mark.parametrize(
    ("before", "message"),
    [
        (datetime(2020, 9, 1), "has no time zone"),
        ("future", "in the future"),
    ],
)
def test_a_bad_cutoff_is_refused(payment, clock, before, message):
    cutoff = clock.now() + timedelta(days=1) if before == "future" else before
    with pytest.raises(InvalidInput, match=message):
        prune_delivered(payment, before=cutoff)


def test_the_cli_prunes_by_span_and_reports_the_count(payment, clerk, database_url, capsys):
    payment.start("payment", clerk)
    dispatch_pending(payment, _bus())  # delivered in 2020 by the test clock; the CLI's is today's
    code, out = run_cli(capsys, database_url, "events prune --older-than 30d --json")
    assert code == 0, out
    assert json.loads(out)["deleted"] == 1


def test_the_cli_refuses_a_span_it_cannot_read(database_url, capsys):
    code, out = run_cli(capsys, database_url, "events prune --older-than soon")
    assert code == 2
    assert "--older-than" in out
