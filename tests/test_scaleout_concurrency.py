"""Concurrency proven with real processes (issue 5), on SQLite and PostgreSQL.

Workers are forked once and kept for the whole run, synchronised per round by a Barrier, so that
every round really is N processes firing at the same moment: 16 processes x 200 rounds by
default (``WORKFLOW_CONTENTION_PROCS`` and ``WORKFLOW_CONTENTION_ROUNDS`` change the sizes).
"""

from __future__ import annotations

import itertools
import os
from collections import Counter

import pytest
from scaleout_procs import (
    BARRIER_TIMEOUT,
    EDGES,
    FORK,
    RING,
    WORKER,
    contend,
    half_applied,
    march,
    run_workers,
)

from workflow import Engine, FrozenClock

PROCS = int(os.environ.get("WORKFLOW_CONTENTION_PROCS", "16"))
ROUNDS = int(os.environ.get("WORKFLOW_CONTENTION_ROUNDS", "200"))


def _ring_instance(url: str, count: int = 1) -> list[int]:
    with Engine.open(url) as engine:
        engine.deploy_text(RING, filename="ring.yaml")
        return [engine.start("ring", WORKER).instance.id for _ in range(count)]


@pytest.mark.slow
def test_one_winner_per_round_when_processes_fire_the_same_trigger(database_url: str) -> None:
    (instance_id,) = _ring_instance(database_url)
    barrier = FORK.Barrier(PROCS, timeout=BARRIER_TIMEOUT)
    per_worker = run_workers(
        contend,
        [(database_url, instance_id, ["forward"], ROUNDS, 1, barrier)] * PROCS,
    )

    outcomes = [o for worker in per_worker for o in worker]
    winners = Counter(r for worker in per_worker for r, o in enumerate(worker) if o == "win")
    tally = Counter(
        "win" if o == "win" else "conflict" if o == "conflict" else "other" for o in outcomes
    )
    print(
        f"\ncontention: {PROCS} processes x {ROUNDS} rounds -> "
        f"winners={tally['win']} conflicts={tally['conflict']} other={tally['other']}"
    )
    assert [o for o in outcomes if o not in ("win", "conflict")] == []
    assert not any("locked" in o for o in outcomes)
    assert all(winners[r] == 1 for r in range(ROUNDS)), "every round has exactly one winner"
    assert tally["conflict"] == (PROCS - 1) * ROUNDS
    with Engine.open(database_url) as engine:
        assert engine.get(instance_id).version == 1 + ROUNDS
        assert engine.verify().ok
        assert half_applied(engine) == []


def test_two_triggers_fired_at_once_follow_edges_of_the_definition(database_url: str) -> None:
    (instance_id,) = _ring_instance(database_url)
    procs, rounds = 4, 20
    barrier = FORK.Barrier(procs, timeout=BARRIER_TIMEOUT)
    # Half the workers fire `forward`, half fire `back`, with no expected version: both may win
    # a round, one after the other, but never from a state the instance has already left.
    per_worker = run_workers(
        contend,
        [
            (database_url, instance_id, [("forward", "back")[w % 2]], rounds, None, barrier)
            for w in range(procs)
        ],
    )
    outcomes = Counter(o for worker in per_worker for o in worker)
    print(f"\ntwo triggers: {procs} processes x {rounds} rounds -> {dict(outcomes)}")
    assert set(outcomes) <= {"win", "conflict"}
    with Engine.open(database_url) as engine:
        history = engine.history(instance_id)
        assert len(history) == 1 + outcomes["win"]
        for previous, event in itertools.pairwise(history):
            assert event.from_state == previous.to_state
            assert (event.trigger, event.from_state, event.to_state) in EDGES
        assert engine.verify().ok


def test_disjoint_instances_from_several_processes_never_conflict(database_url: str) -> None:
    procs, per_proc, steps = 3, 2, 8
    ids = _ring_instance(database_url, procs * per_proc)
    shares = [ids[w::procs] for w in range(procs)]
    per_worker = run_workers(march, [(database_url, share, steps) for share in shares])
    outcomes = Counter(o for worker in per_worker for o in worker)
    print(
        f"\ndisjoint: {procs} processes x {per_proc} instances x {steps} steps -> {dict(outcomes)}"
    )
    assert outcomes == {"win": procs * per_proc * steps}
    with Engine.open(database_url) as engine:
        assert {engine.get(i).version for i in ids} == {1 + steps}
        assert engine.verify().ok
        assert half_applied(engine) == []


def test_cli_fire_that_lost_the_race_exits_4(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    (instance_id,) = _ring_instance(database_url)
    with Engine.open(database_url) as engine:
        engine.add_actor(WORKER.id, WORKER.roles)
        engine.fire(instance_id, "forward", WORKER)
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "--db",
                database_url,
                "fire",
                str(instance_id),
                "forward",
                "--actor",
                WORKER.id,
                "--expected-version",
                "1",
            ]
        )
    err = capsys.readouterr().err
    assert exited.value.code == 4
    assert err.strip().splitlines() == [
        f"error: instance {instance_id} was modified concurrently "
        "(expected version 1, found 2); reload and retry"
    ]


def test_timer_workers_in_several_processes_fire_each_timer_once(database_url: str) -> None:
    from datetime import timedelta

    from scaleout_procs import tick
    from support import START
    from test_timers_basic import DRAFTER, REMINDERS

    from workflow.timers import run_due_timers

    procs, count = 3, 8
    # Started at START, so the workers' chosen moment (four days on) follows every start event.
    with Engine.open(database_url, clock=FrozenClock(START)) as engine:
        engine.deploy_text(REMINDERS, filename="reminders.yaml")
        deadline = (START + timedelta(days=3)).isoformat()
        ids = [
            engine.start("reminders", DRAFTER, data={"deadline": deadline}).instance.id
            for _ in range(count)
        ]
    # Both timers of every instance are due: `remind` (a self-transition) and `mark_overdue`.
    now = START + timedelta(days=4)
    barrier = FORK.Barrier(procs, timeout=BARRIER_TIMEOUT)
    fired = run_workers(tick, [(database_url, now, f"w{w}", 4, barrier) for w in range(procs)])
    with Engine.open(database_url) as engine:
        fired.append(run_due_timers(engine, now=now, worker_id="sweeper").fired)
        triggers = Counter(e.trigger for i in ids for e in engine.history(i)[1:])
        print(
            f"\ntimer workers: {procs} processes, {count} instances -> fired={sum(fired)} "
            f"{dict(triggers)}"
        )
        assert triggers["mark_overdue"] == count
        assert triggers["remind"] <= count
        assert sum(fired) == sum(triggers.values())
        assert {engine.get(i).state for i in ids} == {"overdue"}
        assert engine.verify().ok
        assert half_applied(engine) == []
