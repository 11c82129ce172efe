"""Claims, leases and the fences that make each timer's transition apply exactly once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from cli_runner import run_cli
from sqlalchemy import select
from versions_fixtures import admin_actions

from workflow import Actor, ConcurrentModification, InvalidInput, NotFound
from workflow.store.tables import timers
from workflow.timers import (
    claim_due,
    drain_due_timers,
    fire_claimed,
    list_timers,
    retry_timer,
    run_due_timers,
    run_worker,
)

EXPIRY = """\
name: expiry
labels: {vi: Hết hạn, en: Expiry}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
fields:
  note: {type: string}
  ok: {type: boolean}
states:
  waiting:
    initial: true
    timers:
      - {trigger: expire, after: PT1H}
  expired: {final: true}
  done: {final: true}
transitions:
  - trigger: expire
    source: waiting
    dest: expired
    roles: [system]
    effects:
      - function: on_expire
  - {trigger: touch, source: waiting, dest: waiting, roles: [clerk], effects: [{merge: [note]}]}
  - {trigger: finish, source: waiting, dest: done, roles: [clerk]}
"""

CLERK = Actor("c", ["clerk"])
LEASE = timedelta(minutes=5)


@pytest.fixture
def expiry(engine, registry):
    """The engine with ``expiry`` deployed; ``registry.calls`` counts the expire effects."""
    calls: list[int] = []
    registry.effect("on_expire")(lambda ctx: calls.append(ctx.instance_id) or None)
    engine.deploy_text(EXPIRY, filename="expiry.yaml")
    engine.expire_calls = calls
    return engine


def start(engine, count=1):
    return [engine.start("expiry", CLERK).instance.id for _ in range(count)]


def timer_events(engine, instance_id):
    return [e for e in engine.history(instance_id) if e.actor == "system:timer"]


def test_a_timer_is_not_claimed_before_it_is_due(expiry, clock):
    start(expiry)
    assert claim_due(expiry, now=clock.now() + timedelta(minutes=59), worker_id="a") == []


def test_two_workers_never_claim_the_same_timer(expiry, clock):
    start(expiry, 3)
    now = clock.advance(timedelta(hours=2))
    first = claim_due(expiry, now=now, worker_id="a", limit=2, lease=LEASE)
    second = claim_due(expiry, now=now, worker_id="b", lease=LEASE)
    third = claim_due(expiry, now=now, worker_id="c", lease=LEASE)
    assert (len(first), len(second), third) == (2, 1, [])
    assert not {t.id for t in first} & {t.id for t in second}


def test_a_claim_is_taken_again_only_after_its_lease_expires(expiry, clock):
    start(expiry)
    now = clock.advance(timedelta(hours=2))
    claim_due(expiry, now=now, worker_id="dead", lease=LEASE)
    clock.advance(LEASE)
    assert run_due_timers(expiry, worker_id="b").claimed == 0
    clock.advance(timedelta(seconds=1))
    run = run_due_timers(expiry, worker_id="b")
    assert (run.claimed, run.fired) == (1, 1)
    assert [t.attempts for t in list_timers(expiry)] == [2]


def test_a_claim_taken_at_a_chosen_future_moment_expires_on_the_clock(expiry, clock):
    """A run at --now 2099 that dies holding its claims strands them for one lease, not to 2099."""
    start(expiry)
    far = datetime(2099, 1, 1, tzinfo=UTC)
    claim_due(expiry, now=far, worker_id="killed", lease=LEASE)
    (held,) = list_timers(expiry)
    assert held.lease_expires_at == clock.now() + LEASE
    clock.advance(LEASE + timedelta(seconds=1))
    assert run_due_timers(expiry, now=far, worker_id="b").claimed == 1


def test_a_stale_claim_fired_after_another_worker_applies_nothing(expiry, clock):
    (instance_id,) = start(expiry)
    now = clock.advance(timedelta(hours=2))
    (stale,) = claim_due(expiry, now=now, worker_id="slow", lease=LEASE)
    clock.advance(2 * LEASE)
    assert run_due_timers(expiry, worker_id="b").fired == 1
    with pytest.raises(ConcurrentModification):
        expiry.fire_timer(stale.id, instance_id, "expire", expected_version=stale.instance_version)
    assert len(timer_events(expiry, instance_id)) == 1
    assert expiry.expire_calls == [instance_id]


def test_retrying_a_fired_timer_is_refused_by_the_timer_row(expiry, clock):
    (instance_id,) = start(expiry)
    now = clock.advance(timedelta(hours=2))
    (claim,) = claim_due(expiry, now=now, worker_id="a")
    expiry.fire_timer(claim.id, instance_id, "expire", now=now)
    with pytest.raises(ConcurrentModification):
        expiry.fire_timer(claim.id, instance_id, "expire", now=now)
    assert expiry.get(instance_id).version == 2


def test_a_claim_made_stale_by_a_person_is_handed_back_and_fired_next_pass(expiry, clock):
    (instance_id,) = start(expiry)
    now = clock.advance(timedelta(hours=2))
    (claim,) = claim_due(expiry, now=now, worker_id="a")
    expiry.fire(instance_id, "touch", CLERK, payload={"note": "still here"})
    assert fire_claimed(expiry, claim, now, "a") == "skipped"
    assert [t.status for t in list_timers(expiry)] == ["pending"]
    assert run_due_timers(expiry, worker_id="a").fired == 1
    assert expiry.get(instance_id).state == "expired"


def test_a_lost_race_is_counted_as_skipped_and_released(expiry, clock):
    (instance_id,) = start(expiry)
    now = clock.advance(timedelta(hours=2))
    claim_due(expiry, now=now, worker_id="a", lease=LEASE)
    # The person moves first, with the claim held: the timer is cancelled, never fired.
    expiry.fire(instance_id, "finish", CLERK)
    assert run_due_timers(expiry, now=now + 2 * LEASE, worker_id="b").claimed == 0
    assert [t.status for t in list_timers(expiry)] == ["cancelled"]


def test_a_refused_timer_is_parked_dead_not_retried(expiry, registry, clock):
    (instance_id,) = start(expiry)
    registry.effects["on_expire"] = lambda ctx: {"note": 1}  # not a string: refused
    clock.advance(timedelta(hours=2))
    run = run_due_timers(expiry, worker_id="a")
    assert (run.fired, run.dead) == (0, 1)
    (row,) = list_timers(expiry, status="dead")
    assert "note" in (row.last_error or "")
    assert expiry.get(instance_id).state == "waiting"
    assert run_due_timers(expiry, worker_id="a").claimed == 0


def test_a_bug_in_a_registered_function_parks_the_timer_as_dead(expiry, registry, clock):
    registry.effects["on_expire"] = lambda ctx: 1 / 0
    start(expiry)
    clock.advance(timedelta(hours=2))
    assert run_due_timers(expiry, worker_id="a").dead == 1
    (row,) = list_timers(expiry, status="dead")
    assert row.last_error == "ZeroDivisionError: division by zero"


def test_stop_finishes_the_timer_in_hand_and_hands_back_the_rest(expiry, registry, clock):
    ids = start(expiry, 3)
    stop = threading.Event()
    registry.effects["on_expire"] = lambda ctx: stop.set()
    clock.advance(timedelta(hours=2))
    run = run_due_timers(expiry, worker_id="a", stop=stop)
    assert (run.claimed, run.fired, run.released) == (3, 1, 2)
    assert [expiry.get(i).state for i in ids] == ["expired", "waiting", "waiting"]
    assert sorted(t.status for t in list_timers(expiry)) == ["fired", "pending", "pending"]


def test_the_worker_loop_returns_its_totals_when_stopped(expiry, registry, clock):
    start(expiry, 5)
    stop = threading.Event()
    fired: list[int] = []

    def count(ctx):
        fired.append(ctx.instance_id)
        if len(fired) == 4:
            stop.set()

    registry.effects["on_expire"] = count
    clock.advance(timedelta(hours=2))
    total = run_worker(expiry, stop, 0, worker_id="w", batch=2)
    assert (total.fired, total.released) == (4, 0)
    assert [t.status for t in list_timers(expiry, status="pending")] == ["pending"]


def test_drain_fires_timers_that_become_due_on_the_way(engine, clock):
    engine.deploy_text(CHAIN, filename="chain.yaml")
    instance_id = engine.start("chain", CLERK).instance.id
    total = drain_due_timers(engine, now=clock.now() + timedelta(days=10), batch=1)
    assert total.fired == 2
    assert engine.get(instance_id).state == "escalated"


CHAIN = """\
name: chain
labels: {vi: Chuỗi, en: Chain}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
states:
  open:
    initial: true
    timers: [{trigger: overdue, after: P1D}]
  late:
    timers: [{trigger: escalate, after: PT0S}]
  escalated: {final: true}
transitions:
  - {trigger: overdue, source: open, dest: late, roles: [system]}
  - {trigger: escalate, source: late, dest: escalated, roles: [system]}
"""


def test_timer_rows_keep_who_claimed_them(expiry, clock):
    start(expiry)
    now = clock.advance(timedelta(hours=2))
    claim_due(expiry, now=now, worker_id="w-1", lease=LEASE)
    with expiry.db.connect() as conn:
        row = conn.execute(select(timers)).one()
    assert (row.status, row.lease_owner, row.lease_expires_at) == ("leased", "w-1", now + LEASE)


def _dead_timer(expiry, registry, clock) -> tuple[int, int]:
    """(instance, timer) where the timer's effect raised, so the timer is parked as dead."""
    (instance_id,) = start(expiry)
    registry.effects["on_expire"] = lambda ctx: 1 / 0
    clock.advance(timedelta(hours=2))
    assert run_due_timers(expiry, worker_id="a").dead == 1
    (row,) = list_timers(expiry, status="dead")
    return instance_id, row.id


def test_a_retried_dead_timer_fires_on_the_next_pass(expiry, registry, clock):
    instance_id, timer_id = _dead_timer(expiry, registry, clock)
    registry.effects["on_expire"] = lambda ctx: None  # the cause is fixed
    retried = retry_timer(expiry, timer_id, by="ops")
    assert (retried.status, retried.last_error) == ("pending", None)
    assert run_due_timers(expiry, worker_id="a").fired == 1
    assert expiry.get(instance_id).state == "expired"
    assert admin_actions(expiry)[-1] == ("timer.retry", str(timer_id))


def test_only_a_dead_timer_can_be_retried(expiry, clock):
    start(expiry)
    (pending,) = list_timers(expiry)
    with pytest.raises(InvalidInput, match="is pending, not dead"):
        retry_timer(expiry, pending.id)


def test_a_dead_timer_of_a_state_the_instance_left_is_not_retried(expiry, registry, clock):
    instance_id, timer_id = _dead_timer(expiry, registry, clock)
    expiry.fire(instance_id, "finish", CLERK)
    with pytest.raises(InvalidInput, match="has left"):
        retry_timer(expiry, timer_id)


def test_retrying_an_unknown_timer_is_not_found(expiry):
    with pytest.raises(NotFound):
        retry_timer(expiry, 999)


def test_the_cli_retries_a_dead_timer(expiry, registry, clock, database_url, capsys):
    _, timer_id = _dead_timer(expiry, registry, clock)
    code, out = run_cli(capsys, database_url, f"timers retry {timer_id} --json")
    assert code == 0, out
    assert json.loads(out)["status"] == "pending"
    code, out = run_cli(capsys, database_url, f"timers retry {timer_id}")
    assert code == 2
    assert "not dead" in out
