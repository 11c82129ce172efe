"""Worker processes for the multi-process tests (issue 5): real OS processes, each with its own
engine and connections, forked from the test process once and kept for the whole run.

The parent must close its own engine before forking so that no connection crosses the fork.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from sqlalchemy import func, select, text

from workflow import Actor, ConcurrentModification, Engine
from workflow.store.tables import audit_events, instances

RING = """\
name: ring
labels: {vi: Vòng, en: Ring}
roles:
  worker: {vi: Người làm, en: Worker}
states:
  a: {initial: true}
  b: {}
  c: {}
transitions:
  - {trigger: forward, source: a, dest: b, roles: [worker]}
  - {trigger: forward, source: b, dest: c, roles: [worker]}
  - {trigger: forward, source: c, dest: a, roles: [worker]}
  - {trigger: back, source: a, dest: c, roles: [worker]}
  - {trigger: back, source: c, dest: b, roles: [worker]}
  - {trigger: back, source: b, dest: a, roles: [worker]}
"""

EDGES = {
    ("forward", "a", "b"),
    ("forward", "b", "c"),
    ("forward", "c", "a"),
    ("back", "a", "c"),
    ("back", "c", "b"),
    ("back", "b", "a"),
}

WORKER = Actor("worker-0", ["worker"])
FORK = multiprocessing.get_context("fork")
BARRIER_TIMEOUT = 120.0


def quiet() -> None:
    """Silence the engine's per-transition log lines inside a worker (thousands of them)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def outcome(fire: Callable[[], object]) -> str:
    """'win', 'conflict', or the repr of anything else (which the tests then reject)."""
    try:
        fire()
    except ConcurrentModification:
        return "conflict"
    except Exception as exc:  # a raw driver error must reach the assertion, not kill the worker
        return repr(exc)
    return "win"


def contend(
    url: str,
    instance_id: int,
    triggers: Sequence[str],
    rounds: int,
    first_version: int | None,
    barrier: Any,
    results: Any,
) -> None:
    """Each round: wait for every worker, then fire (one of) ``triggers`` at the same instance.

    With ``first_version`` set, round ``r`` fires with ``expected_version=first_version + r``.
    """
    quiet()
    actor = Actor(f"worker-{os.getpid()}", ["worker"])
    outcomes: list[str] = []
    with Engine.open(url, check_schema=False) as engine:  # the parent checked it
        for r in range(rounds):
            trigger = triggers[r % len(triggers)]
            expected = None if first_version is None else first_version + r
            barrier.wait()
            outcomes.append(
                outcome(
                    lambda t=trigger, v=expected: engine.fire(
                        instance_id, t, actor, expected_version=v
                    )
                )
            )
    results.put(outcomes)


def run_workers(
    target: Callable[..., None], args_per_worker: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """Run one forked process per argument tuple; each puts one result on the queue (appended)."""
    results = FORK.Queue()
    procs = [FORK.Process(target=target, args=(*args, results)) for args in args_per_worker]
    for proc in procs:
        proc.start()
    collected = [results.get(timeout=BARRIER_TIMEOUT * 2) for _ in procs]
    for proc in procs:
        proc.join()
        assert proc.exitcode == 0, f"worker exited with {proc.exitcode}"
    return collected


def march(url: str, instance_ids: Sequence[int], steps: int, results: Any) -> None:
    """Fire ``forward`` ``steps`` times on each of this worker's own instances."""
    quiet()
    outcomes: list[str] = []
    with Engine.open(url, check_schema=False) as engine:
        for _ in range(steps):
            for instance_id in instance_ids:
                outcomes.append(outcome(lambda i=instance_id: engine.fire(i, "forward", WORKER)))
    results.put(outcomes)


def half_applied(engine: Engine) -> list[int]:
    """Instances whose row disagrees with their audit log (state, version or chain head)."""
    last = (
        select(audit_events.c.instance_id, func.max(audit_events.c.seq).label("seq"))
        .group_by(audit_events.c.instance_id)
        .subquery()
    )
    query = (
        select(
            instances.c.id,
            instances.c.state,
            instances.c.version,
            instances.c.last_hash,
            last.c.seq,
            audit_events.c.to_state,
            audit_events.c.hash,
        )
        .outerjoin(last, last.c.instance_id == instances.c.id)
        .outerjoin(
            audit_events,
            (audit_events.c.instance_id == instances.c.id) & (audit_events.c.seq == last.c.seq),
        )
    )
    with engine.db.connect() as conn:
        count_query = select(audit_events.c.instance_id, func.count()).group_by(
            audit_events.c.instance_id
        )
        counts = dict(conn.execute(count_query).all())
        bad = [
            row.id
            for row in conn.execute(query)
            if (row.state, row.version, row.last_hash)
            != (row.to_state, counts.get(row.id, 0), row.hash)
        ]
    return bad


def sqlite_integrity(engine: Engine) -> str:
    with engine.db.connect() as conn:
        return str(conn.execute(text("PRAGMA integrity_check")).scalar_one())


def crash(url: str, instance_ids: Sequence[int], point: str, seed: int) -> None:
    """Fire at random until the armed trap SIGKILLs this process; exit 0 means it never did."""
    import random

    from crashpoints import install

    quiet()
    rng = random.Random(seed)
    with Engine.open(url, check_schema=False) as engine:
        trap = install(point, engine, rng)
        fatal = rng.randrange(3)
        for n in range(10_000):
            if n == fatal:
                trap.arm()
            instance_id = rng.choice(instance_ids)
            trigger = rng.choice(("forward", "back"))
            outcome(lambda: engine.fire(instance_id, trigger, WORKER))  # noqa: B023


def tick(url: str, now: Any, worker_id: str, passes: int, barrier: Any, results: Any) -> None:
    """A timer worker: ``passes`` passes of ``run_due_timers`` at ``now``, started together."""
    from workflow.timers import run_due_timers

    quiet()
    fired = 0
    with Engine.open(url, check_schema=False) as engine:
        barrier.wait()
        for _ in range(passes):
            fired += run_due_timers(engine, now=now, worker_id=worker_id, limit=5).fired
    results.put(fired)
