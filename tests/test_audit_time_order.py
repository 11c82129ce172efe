"""Audit time never runs backwards within a chain, and a chosen time is a simulation's only.

Every writer of a chain's event (a person's fire, a timer, a migration) refuses a time before
the chain's last event; start and spawn open new chains. ``timers run --once --now T`` is
refused on a database not marked as a simulation; on one that is, a timer due at T whose
instance has a later event is handed back, not fired. CLI cases run in real subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support import PAYMENT

from workflow import Actor, Engine, MigrationRefused, TimeRunsBackwards
from workflow.admin import MigrationRequest, is_simulation, mark_simulation, migrate_instances
from workflow.auditing import admin_log
from workflow.timers import list_timers, run_due_timers

CLERK = Actor("c", ["clerk"])
WAITING = """\
name: waiting
labels: {vi: Chờ, en: Waiting}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
fields:
  note: {type: string}
states:
  open:
    initial: true
    timers: [{trigger: expire, after: PT1H}]
  expired: {final: true}
transitions:
  - {trigger: expire, source: open, dest: expired, roles: [system]}
  - {trigger: touch, source: open, dest: open, roles: [clerk], effects: [{merge: [note]}]}
"""


def times(engine: Engine, instance_id: int) -> list[datetime]:
    return [event.occurred_at for event in engine.history(instance_id)]


@pytest.fixture
def touched(engine, clock) -> int:
    """An open instance whose timer was due at +1h and which a person touched at +2h."""
    engine.deploy_text(WAITING, filename="waiting.yaml")
    instance_id = engine.start("waiting", CLERK).instance.id
    clock.advance(timedelta(hours=2))
    engine.fire(instance_id, "touch", CLERK, payload={"note": "vẫn chờ"})
    return instance_id


def test_a_timer_run_before_the_last_event_hands_the_timer_back(engine, clock, touched):
    earlier = clock.now() - timedelta(minutes=30)  # the timer is due then; the touch came after
    run = run_due_timers(engine, now=earlier)
    assert (run.claimed, run.fired, run.skipped) == (1, 0, 1)
    assert [t.status for t in list_timers(engine)] == ["pending"]
    assert engine.get(touched).version == 2


def test_the_handed_back_timer_fires_once_time_has_caught_up(engine, clock, touched):
    run_due_timers(engine, now=clock.now() - timedelta(minutes=30))
    assert run_due_timers(engine).fired == 1
    assert times(engine, touched) == sorted(times(engine, touched))


def test_a_fire_by_a_clock_behind_the_last_event_is_refused(engine, clock, touched):
    clock.set(clock.now() - timedelta(seconds=1))
    with pytest.raises(TimeRunsBackwards) as refused:
        engine.fire(touched, "touch", CLERK, payload={"note": "sau"})
    assert refused.value.instance_id == touched
    assert engine.get(touched).version == 2


def test_an_event_at_the_same_instant_as_the_last_is_allowed(engine, clock, touched):
    assert engine.fire(touched, "touch", CLERK, payload={"note": "cùng lúc"}).instance.version == 3


def test_a_migration_dated_before_an_instances_last_event_is_refused(payment, clock):
    instance_id = payment.start("payment", CLERK).instance.id
    clock.advance(timedelta(hours=1))
    payment.fire(instance_id, "pay", CLERK, payload={"paid": 5})
    payment.deploy_text(PAYMENT.replace("Thanh toán", "Thanh toán (2)"), filename="p2.yaml")
    clock.set(clock.now() - timedelta(minutes=1))
    with pytest.raises(MigrationRefused, match="never dated before"):
        migrate_instances(payment, MigrationRequest("payment", 1, 2), actor="ops")
    assert payment.get(instance_id).definition_version == 1


def test_marking_a_simulation_is_recorded_once_in_the_administrators_log(engine):
    assert not is_simulation(engine)
    assert mark_simulation(engine, by="lan")
    assert not mark_simulation(engine, by="mai")
    marks = [e for e in admin_log(engine) if e.action == "simulation.mark"]
    assert [(m.actor, m.subject) for m in marks] == [("lan", "database")]
    assert is_simulation(engine)


CONSOLE = [sys.executable, "-c", "from cli.main import main; main()"]


def console(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CONSOLE, "--db", db, *args], capture_output=True, text=True,
                          timeout=120, check=False, env=dict(os.environ))


@pytest.fixture
def waiting_db(database_url: str, tmp_path: Path, clock) -> tuple[str, int, datetime]:
    """(url, instance, time of its last event): started, touched an hour after its timer's due."""
    (tmp_path / "waiting.yaml").write_text(WAITING, encoding="utf-8")
    with Engine.open(database_url, clock=clock) as engine:
        engine.deploy(tmp_path / "waiting.yaml")
        instance_id = engine.start("waiting", CLERK).instance.id
        clock.advance(timedelta(hours=2))
        engine.fire(instance_id, "touch", CLERK, payload={"note": "x"})
    return database_url, instance_id, clock.now()


def test_cli_now_is_refused_on_a_database_not_marked_as_a_simulation(waiting_db):
    url, instance_id, last = waiting_db
    at = (last + timedelta(days=1)).isoformat()
    refused = console(url, "timers", "run", "--once", "--now", at)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "--now is a simulation option" in refused.stderr
    assert "mark-simulation" in refused.stderr
    with Engine.open(url) as engine:
        assert engine.get(instance_id).version == 2
        assert [t.status for t in list_timers(engine)] == ["pending"]


def test_cli_now_on_a_simulation_fires_only_what_keeps_time_in_order(waiting_db):
    url, instance_id, last = waiting_db
    assert console(url, "db", "mark-simulation", "--by", "lan").returncode == 0
    run_at = ("timers", "run", "--once", "--now")
    before = console(url, *run_at, (last - timedelta(minutes=30)).isoformat())
    after = console(url, *run_at, (last + timedelta(days=1)).isoformat())
    assert (before.returncode, before.stdout[:26]) == (0, "fired 0, dead 0, skipped 1")
    assert (after.returncode, after.stdout[:8]) == (0, "fired 1,")
    with Engine.open(url) as engine:
        assert times(engine, instance_id) == sorted(times(engine, instance_id))
        assert engine.get(instance_id).state == "expired"
