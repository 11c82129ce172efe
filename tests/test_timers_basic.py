"""Timers as rows: created on entering a state, cancelled on leaving, fired once when due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from workflow import Actor
from workflow.store.tables import timers
from workflow.timers import run_due_timers

REMINDERS = """\
name: reminders
labels: {vi: Nhắc việc, en: Reminders}
roles:
  drafter: {vi: Người soạn, en: Drafter}
fields:
  deadline: {type: datetime}
states:
  drafting:
    initial: true
    timers:
      - {trigger: remind, at: deadline, offset: -P2D}
      - {trigger: mark_overdue, at: deadline}
  overdue: {}
  done: {final: true}
transitions:
  - {trigger: remind, source: drafting, dest: drafting, roles: [system]}
  - {trigger: mark_overdue, source: drafting, dest: overdue, roles: [system]}
  - {trigger: finish, source: [drafting, overdue], dest: done, roles: [drafter]}
"""

DRAFTER = Actor("d", ["drafter"])


def statuses(engine):
    with engine.db.connect() as conn:
        return sorted((r.trigger, r.status) for r in conn.execute(select(timers)))


def start(engine):
    engine.deploy_text(REMINDERS, filename="reminders.yaml")
    deadline = engine.now() + timedelta(days=8)
    return engine.start("reminders", DRAFTER, data={"deadline": deadline.isoformat()}).instance


def test_entering_a_state_creates_its_timers(engine):
    start(engine)
    assert statuses(engine) == [("mark_overdue", "pending"), ("remind", "pending")]


def test_due_timer_fires_once_as_system_timer(engine, clock):
    instance = start(engine)
    clock.advance(timedelta(days=6, seconds=1))
    assert run_due_timers(engine).fired == 1
    assert run_due_timers(engine).fired == 0
    last = engine.history(instance.id)[-1]
    assert (last.trigger, last.actor) == ("remind", "system:timer")


def test_self_transition_keeps_the_other_timers(engine, clock):
    start(engine)
    clock.advance(timedelta(days=6, seconds=1))
    run_due_timers(engine)
    assert statuses(engine) == [("mark_overdue", "pending"), ("remind", "fired")]


def test_leaving_the_state_cancels_its_timers(engine, clock):
    instance = start(engine)
    engine.fire(instance.id, "finish", DRAFTER)
    clock.advance(timedelta(days=30))
    assert run_due_timers(engine).fired == 0
    assert statuses(engine) == [("mark_overdue", "cancelled"), ("remind", "cancelled")]
    assert engine.get(instance.id).state == "done"
