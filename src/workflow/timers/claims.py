"""Durable timers: rows in the database, claimed with a lease and fired as ``system:timer``.

Timer rows are written by the engine in the same transaction as the transition that enters a
state, and cancelled by the one that leaves it. A worker claims due rows (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; on SQLite every claim is a ``BEGIN IMMEDIATE`` write, so claims queue
behind the single writer), then fires each one through :meth:`Engine.fire_timer`, which marks the
row fired in the transition's own transaction, guarded by the timer id (only a pending or leased
row can be marked) and by the instance version seen at claim time. A timer's transition is thus
applied exactly once, even when a worker dies and its claims are taken again after the lease.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workflow.clock import require_aware
from workflow.engine import Engine
from workflow.errors import (
    CommitOutcomeUnknown,
    ConcurrentModification,
    DatabaseBusy,
    DatabaseUnavailable,
    InvalidInput,
    WorkflowError,
)
from workflow.limits import check_row_id
from workflow.logs import get_logger
from workflow.store import DatabaseError
from workflow.store import timers as stored
from workflow.store.mapping import by_name
from workflow.workers import DEFAULT_LEASE, Counts, Requeue, claim, default_worker_id, requeue

log = get_logger("workflow.timers")

STATUSES = stored.STATUSES


@dataclass(frozen=True)
class TimerRun(Counts):
    """What one pass (or a whole run) of the worker did.

    ``dead`` timers were refused by the rules and parked (a retry re-queues them); ``skipped``
    ones lost a race (fired, cancelled or moved by someone else) and were handed back;
    ``released`` ones were claimed but handed back unfired because the worker was stopping.
    """

    claimed: int
    fired: int
    dead: int
    skipped: int
    released: int = 0


NOTHING = TimerRun(0, 0, 0, 0)


@dataclass(frozen=True)
class ClaimedTimer:
    """A timer leased to this worker, with the instance version it saw."""

    id: int
    instance_id: int
    trigger: str
    due_at: datetime
    instance_version: int


@dataclass(frozen=True)
class TimerInfo:
    """One timer row, for ``workflow timers list``."""

    id: int
    instance_id: int
    workflow: str
    state: str
    trigger: str
    due_at: datetime
    status: str
    attempts: int
    lease_owner: str | None
    lease_expires_at: datetime | None
    fired_at: datetime | None
    last_error: str | None


def claim_due(
    engine: Engine,
    *,
    now: datetime,
    worker_id: str,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> list[ClaimedTimer]:
    """Claim up to ``limit`` timers due at ``now`` (pending, or leased under a lease that has
    expired): each is leased to ``worker_id``.

    Leases are reckoned on the engine's clock, never on ``now``: a run at a chosen moment (a
    simulation in 2099) takes leases that expire ``lease`` after the clock's time, so a killed
    run strands nothing beyond its lease.
    """
    taken = claim(engine, owner=worker_id, now=require_aware(now, "now"), lease=lease, limit=limit)
    with engine.transaction() as conn:
        rows = stored.claim_due(conn, taken)
    return [
        ClaimedTimer(int(r.id), int(r.instance_id), r.trigger, r.due_at, int(r.version))
        for r in rows
    ]


def run_due_timers(
    engine: Engine,
    *,
    now: datetime | None = None,
    worker_id: str = "worker",
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
    stop: threading.Event | None = None,
) -> TimerRun:
    """One pass: claim up to ``limit`` timers due at ``now`` (default: the engine clock), fire each.

    When ``stop`` is set the timer in hand is finished and the rest of the claim is handed back.
    """
    moment = engine.now() if now is None else require_aware(now, "now")
    claimed = claim_due(engine, now=moment, worker_id=worker_id, limit=limit, lease=lease)
    fired = dead = skipped = 0
    for index, timer in enumerate(claimed):
        if stop is not None and stop.is_set():
            rest = [t.id for t in claimed[index:]]
            _release(engine, rest, worker_id)
            return TimerRun(len(claimed), fired, dead, skipped, len(rest))
        outcome = fire_claimed(engine, timer, moment, worker_id)
        fired += outcome == "fired"
        dead += outcome == "dead"
        skipped += outcome == "skipped"
    return TimerRun(len(claimed), fired, dead, skipped)


def drain_due_timers(
    engine: Engine,
    *,
    now: datetime | None = None,
    worker_id: str | None = None,
    batch: int = 100,
    lease: timedelta = DEFAULT_LEASE,
    stop: threading.Event | None = None,
) -> TimerRun:
    """Pass after pass until nothing due at ``now`` is left (``workflow timers run --once``).

    A fired timer may enter a state whose own timers are already due (an escalation three days
    after a deadline long past); those fire in a later pass of the same run.
    """
    moment = engine.now() if now is None else require_aware(now, "now")
    me = worker_id or default_worker_id()
    total = NOTHING
    while stop is None or not stop.is_set():
        run = run_due_timers(engine, now=moment, worker_id=me, limit=batch, lease=lease, stop=stop)
        total += run
        if run.claimed == 0 or run.fired + run.dead == 0:
            # Nothing due, or only races lost: stop rather than spin on rows others hold.
            break
    return total


def list_timers(
    engine: Engine,
    *,
    status: str | None = None,
    instance_id: int | None = None,
    limit: int = 100,
) -> list[TimerInfo]:
    """Timer rows, soonest due first, optionally only one status or one instance's."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"timer status {status!r} is not one of {', '.join(STATUSES)}")
    if instance_id is not None:
        check_row_id(instance_id, "instance id")
    with engine.read_transaction() as conn:
        rows = stored.timer_rows(conn, status=status, instance_id=instance_id, limit=limit)
    return [_info(r) for r in rows]


def _left_state(row: Any) -> str | None:
    if row.instance_state == row.state:
        return None
    return (
        f"timer {row.id} belongs to state {row.state!r}, which instance "
        f"{row.instance_id} has left (it is in {row.instance_state!r})"
    )


_TIMERS = Requeue(
    kind="timer",
    read=stored.timer_row,
    put_back=lambda conn, timer_id, _now: stored.requeue(conn, timer_id),
    detail=lambda row: {"instance_id": int(row.instance_id), "trigger": row.trigger},
    refuse=_left_state,
)


def retry_timer(engine: Engine, timer_id: int, *, by: str = "admin") -> TimerInfo:
    """Put a dead timer back in the queue: the next pass fires it (its due time has passed).

    For after the cause is fixed (a registered function, the instance's data). Only a dead
    timer whose instance is still in the timer's state can be retried; the retry is recorded in
    the administrators' hash chain.
    """
    return _info(requeue(engine, _TIMERS, timer_id, by))


def _info(row: Any) -> TimerInfo:
    return by_name(TimerInfo, row)


def fire_claimed(engine: Engine, timer: ClaimedTimer, now: datetime, worker_id: str) -> str:
    """Fire one timer this worker claimed: ``"fired"``, ``"skipped"`` (a race lost, handed back
    for the next pass) or ``"dead"`` (the rules refused it: parked, the row keeps the reason)."""
    try:
        engine.fire_timer(
            timer.id,
            timer.instance_id,
            timer.trigger,
            now=now,
            expected_version=timer.instance_version,
        )
    except ConcurrentModification:
        # Fired or cancelled by someone else meanwhile, or the instance moved since the claim:
        # hand it back so the next pass sees its current status and version.
        _release(engine, [timer.id], worker_id)
        return "skipped"
    except (DatabaseError, DatabaseUnavailable, DatabaseBusy, CommitOutcomeUnknown):
        # The database itself is failing: keep the claim; its lease will expire. A fire whose
        # commit was lost either marked the row fired or did not: never fired twice either way.
        raise
    except Exception as exc:
        # Either way retrying will not help: park the timer as dead, with the reason on its
        # row (the log gets only the class, since a message may quote instance data).
        # (a foreign error's first line only: SQLAlchemy's next lines hold the SQL)
        first = (str(exc).strip().splitlines() or [""])[0]
        reason = str(exc) if isinstance(exc, WorkflowError) else f"{type(exc).__name__}: {first}"
        _park(engine, timer.id, worker_id, reason)
        log.warning(
            "timer.dead",
            timer=timer.id,
            instance=timer.instance_id,
            trigger=timer.trigger,
            error=type(exc).__name__,
        )
        return "dead"
    return "fired"


def _release(engine: Engine, timer_ids: list[int], worker_id: str) -> None:
    with engine.transaction() as conn:
        stored.release(conn, timer_ids, worker_id)


def _park(engine: Engine, timer_id: int, worker_id: str, error: str) -> None:
    with engine.transaction() as conn:
        stored.park_dead(conn, timer_id, worker_id, error)
