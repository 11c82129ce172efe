"""The outbox dispatcher: after-commit delivery, retry with backoff, order per instance, leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from workflow import Engine, InvalidInput, PermissionDenied
from workflow.events import (
    Event,
    EventBus,
    RetryPolicy,
    dispatch_pending,
    list_events,
    publish,
    retry_event,
)
from workflow.store.tables import outbox, units

FAST = RetryPolicy(max_attempts=3, base=timedelta(seconds=10), cap=timedelta(minutes=5))


class Recorder:
    """A handler that records what it saw and fails while ``failures`` is positive."""

    def __init__(self, failures: int = 0) -> None:
        self.seen: list[Event] = []
        self.failures = failures

    def __call__(self, event: Event) -> None:
        self.seen.append(event)
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("receiver is down")

    @property
    def keys(self) -> list[tuple[int, int]]:
        return [(e.instance_id, e.seq) for e in self.seen]


def statuses(engine: Engine) -> list[str]:
    with engine.db.connect() as conn:
        return list(conn.execute(select(outbox.c.status).order_by(outbox.c.id)).scalars())


def bus_with(handler: Recorder, pattern: str = "*") -> EventBus:
    bus = EventBus()
    bus.on(pattern, handler, name="recorder")
    return bus


def test_handler_runs_after_commit_and_sees_the_committed_state(payment, clerk):
    seen_states = []
    bus = EventBus()
    bus.on("payment.pay.*", lambda e: seen_states.append(payment.get(e.instance_id).state))
    instance = payment.start("payment", clerk).instance
    result = payment.fire(instance.id, "pay", clerk, payload={"paid": 150})
    assert seen_states == []
    publish(payment, bus, result)
    assert seen_states == ["paid"]


def test_event_carries_the_audit_facts_and_the_unit_name(payment, clerk, clock):
    with payment.transaction() as conn:
        conn.execute(
            insert(units).values(code="chi_bo_1", name_vi="Chi bộ 1", name_en="Cell 1", kind="cell")
        )
    recorder = Recorder()
    instance = payment.start("payment", clerk, unit="chi_bo_1").instance
    payment.fire(instance.id, "cancel", clerk, reason="trùng lặp")
    dispatch_pending(payment, bus_with(recorder, "payment.cancel.*"))
    [event] = recorder.seen
    assert (event.topic, event.seq, event.from_state, event.to_state) == (
        "payment.cancel.cancelled",
        2,
        "open",
        "cancelled",
    )
    assert (event.actor, event.unit, event.unit_name) == ("clerk-1", "chi_bo_1", "Chi bộ 1")
    assert event.occurred_at == clock.now()


def test_a_raising_handler_keeps_the_transition_and_is_retried_after_backoff(payment, clerk, clock):
    recorder = Recorder(failures=1)
    bus = bus_with(recorder, "payment.pay.*")
    instance = payment.start("payment", clerk).instance
    result = payment.fire(instance.id, "pay", clerk, payload={"paid": 150})
    assert publish(payment, bus, result, policy=FAST).retrying == 1
    assert payment.get(instance.id).state == "paid"
    assert dispatch_pending(payment, bus, policy=FAST).claimed == 0  # backing off
    clock.advance(timedelta(seconds=10))
    assert dispatch_pending(payment, bus, policy=FAST).delivered == 1
    assert len({e.id for e in recorder.seen}) == 1  # the same id to deduplicate on
    assert recorder.seen[0].audit_id == result.event.id
    assert [e.attempt for e in recorder.seen] == [1, 2]
    assert statuses(payment) == ["delivered", "delivered"]


def test_a_rolled_back_transition_leaves_no_outbox_row(payment, clerk):
    payment.deploy_text(
        "name: receipt\nlabels: {vi: Biên lai, en: Receipt}\n"
        "roles: {office: {vi: Văn phòng, en: Office}}\nstart_roles: [office]\n"
        "states: {issued: {initial: true}, filed: {final: true}}\n"
        "transitions: [{trigger: file, source: issued, dest: filed, roles: [office]}]\n",
        filename="receipt.yaml",
    )
    payment.deploy_text(
        "name: billing\nlabels: {vi: Hóa đơn, en: Billing}\n"
        "roles: {clerk: {vi: Nhân viên, en: Clerk}}\n"
        "states: {open: {initial: true}, billed: {final: true}}\n"
        "transitions:\n  - trigger: bill\n    source: open\n    dest: billed\n"
        "    roles: [clerk]\n    effects: [{spawn: {workflow: receipt}}]\n",
        filename="billing.yaml",
    )
    instance = payment.start("billing", clerk).instance
    with payment.db.connect() as conn:
        before = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    # The spawned child refuses to start after the parent's outbox row was written.
    with pytest.raises(PermissionDenied):
        payment.fire(instance.id, "bill", clerk)
    with payment.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == before
    recorder = Recorder()
    dispatch_pending(payment, bus_with(recorder))
    assert [e.topic for e in recorder.seen] == ["billing.start.open"]


def test_a_later_event_waits_while_an_earlier_one_of_its_instance_is_failing(payment, clerk, clock):
    recorder = Recorder(failures=1)
    instance = payment.start("payment", clerk).instance
    payment.fire(instance.id, "pay", clerk, payload={"paid": 150})
    dispatch_pending(payment, bus_with(recorder), policy=FAST)
    assert recorder.keys == [(instance.id, 1)]
    clock.advance(timedelta(seconds=10))
    dispatch_pending(payment, bus_with(recorder), policy=FAST)
    assert recorder.keys == [(instance.id, 1), (instance.id, 1), (instance.id, 2)]


def test_other_instances_are_not_held_back_by_a_failing_one(payment, clerk):
    failing = payment.start("payment", clerk).instance
    healthy = payment.start("payment", clerk).instance
    bus = EventBus()
    delivered = []

    def handler(event: Event) -> None:
        if event.instance_id == failing.id:
            raise RuntimeError("this one is broken")
        delivered.append(event.instance_id)

    bus.on("*", handler)
    run = dispatch_pending(payment, bus, policy=FAST)
    assert (run.delivered, run.retrying, delivered) == (1, 1, [healthy.id])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_event_without_a_matching_handler_is_settled(payment, clerk):
    payment.start("payment", clerk)
    assert dispatch_pending(payment, bus_with(Recorder(), "other.*.*")).delivered == 1
    assert statuses(payment) == ["delivered"]


def crashing_bus() -> EventBus:
    """A bus whose handler dies between lease and settle, as a killed process would."""
    crashing = EventBus()

    def crash(event: Event) -> None:
        raise KeyboardInterrupt

    crashing.on("*", crash)
    return crashing


def test_a_crashed_dispatchers_lease_is_taken_over_once_it_expires(payment, clerk, clock):
    payment.start("payment", clerk)
    with pytest.raises(KeyboardInterrupt):
        dispatch_pending(payment, crashing_bus(), worker_id="a", lease=timedelta(minutes=1))
    recorder = Recorder()
    assert dispatch_pending(payment, bus_with(recorder), worker_id="b").claimed == 0
    clock.advance(timedelta(minutes=1, seconds=1))
    assert dispatch_pending(payment, bus_with(recorder), worker_id="b").delivered == 1
    assert [e.attempt for e in recorder.seen] == [2]


def test_a_lease_taken_at_a_chosen_future_moment_expires_on_the_clock(payment, clerk, clock):
    payment.start("payment", clerk)
    far = datetime(2099, 1, 1, tzinfo=UTC)
    with pytest.raises(KeyboardInterrupt):
        dispatch_pending(payment, crashing_bus(), now=far, lease=timedelta(minutes=1))
    [leased] = list_events(payment)
    assert leased.lease_expires_at == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=1, seconds=1))
    assert dispatch_pending(payment, bus_with(Recorder()), worker_id="b").delivered == 1


def test_the_last_allowed_failure_makes_the_event_dead(payment, clerk, clock):
    recorder = Recorder(failures=5)
    payment.start("payment", clerk)
    for _ in range(FAST.max_attempts):
        dispatch_pending(payment, bus_with(recorder), policy=FAST)
        clock.advance(FAST.cap)
    [dead] = list_events(payment, status="dead")
    assert (dead.attempts, len(recorder.seen)) == (3, 3)
    assert "recorder: RuntimeError: receiver is down" in (dead.last_error or "")


def test_a_retried_dead_event_is_delivered_with_a_fresh_count(payment, clerk):
    payment.start("payment", clerk)
    dispatch_pending(payment, bus_with(Recorder(failures=1)), policy=RetryPolicy(max_attempts=1))
    [dead] = list_events(payment, status="dead")
    assert retry_event(payment, dead.id, by="ops").attempts == 0
    recorder = Recorder()
    assert dispatch_pending(payment, bus_with(recorder)).delivered == 1
    assert [(e.id, e.attempt) for e in recorder.seen] == [(dead.id, 1)]


def test_only_a_dead_event_can_be_retried(payment, clerk):
    payment.start("payment", clerk)
    [pending] = list_events(payment)
    with pytest.raises(InvalidInput, match="is pending, not dead"):
        retry_event(payment, pending.id)


def test_a_dead_event_no_longer_holds_back_the_next_one(payment, clerk):
    instance = payment.start("payment", clerk).instance
    payment.fire(instance.id, "pay", clerk, payload={"paid": 150})
    recorder = Recorder(failures=1)
    dispatch_pending(payment, bus_with(recorder), policy=RetryPolicy(max_attempts=1))
    assert recorder.keys == [(instance.id, 1), (instance.id, 2)]
    assert statuses(payment) == ["dead", "delivered"]


@pytest.mark.parametrize(
    ("attempt", "seconds"),
    [(1, 10), (2, 20), (3, 40), (6, 320), (7, 600), (500, 600)],
)
def test_backoff_doubles_up_to_the_cap(attempt, seconds):
    policy = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(minutes=10))
    assert policy.delay(attempt) == timedelta(seconds=seconds)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_handler_runs_outside_any_write_transaction(payment, clerk):
    """A handler may itself write through the engine (SQLite's one writer would deadlock)."""
    bus = EventBus()
    instance = payment.start("payment", clerk).instance
    bus.on("payment.start.*", lambda e: payment.fire(e.instance_id, "cancel", clerk, reason="x"))
    dispatch_pending(payment, bus)
    assert payment.get(instance.id).state == "cancelled"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_publish_delivers_only_the_instance_it_was_given(payment, clerk):
    recorder = Recorder()
    first = payment.start("payment", clerk)
    payment.start("payment", clerk)
    publish(payment, bus_with(recorder), first)
    assert recorder.keys == [(first.instance.id, 1)]
