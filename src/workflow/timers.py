"""Durable timers: rows in the database, claimed with a lease and fired as ``system:timer``.

Timer rows are written by the engine in the same transaction as the transition that enters a
state, and cancelled by the one that leaves it. A worker claims due rows (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; SQLite serialises claims through its single writer), then fires each one
through :meth:`Engine.fire_timer`, which marks the row fired in the transition's own transaction:
a timer's transition is applied exactly once, even when a claim is retried after a lease expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, select, update

from workflow.clock import require_aware
from workflow.engine import Engine
from workflow.errors import ConcurrentModification, WorkflowError
from workflow.store.tables import timers

log = structlog.get_logger("workflow.timers")

DEFAULT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class TimerRun:
    """What one pass of the worker did."""

    claimed: int
    fired: int
    failed: int
    skipped: int


@dataclass(frozen=True)
class ClaimedTimer:
    id: int
    instance_id: int
    trigger: str
    due_at: datetime


def claim_due(
    engine: Engine,
    *,
    now: datetime,
    worker_id: str,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> list[ClaimedTimer]:
    """Claim up to ``limit`` due timers (pending, or claimed under an expired lease)."""
    now = require_aware(now, "now")
    claimable = or_(
        timers.c.status == "pending",
        (timers.c.status == "claimed") & (timers.c.lease_expires_at < now),
    )
    query = (
        select(timers.c.id, timers.c.instance_id, timers.c.trigger, timers.c.due_at)
        .where(claimable, timers.c.due_at <= now)
        .order_by(timers.c.due_at, timers.c.id)
        .limit(limit)
    )
    with engine.transaction() as conn:
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = conn.execute(query).all()
        if rows:
            conn.execute(
                update(timers)
                .where(timers.c.id.in_([r.id for r in rows]))
                .values(
                    status="claimed",
                    claimed_by=worker_id,
                    lease_expires_at=now + lease,
                    attempts=timers.c.attempts + 1,
                )
            )
    return [ClaimedTimer(int(r.id), int(r.instance_id), r.trigger, r.due_at) for r in rows]


def run_due_timers(
    engine: Engine,
    *,
    now: datetime | None = None,
    worker_id: str = "worker",
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> TimerRun:
    """Claim and fire every timer due at ``now`` (the engine's clock by default), once."""
    moment = engine.now() if now is None else require_aware(now, "now")
    claimed = claim_due(engine, now=moment, worker_id=worker_id, limit=limit, lease=lease)
    fired = failed = skipped = 0
    for timer in claimed:
        try:
            engine.fire_timer(timer.id, timer.instance_id, timer.trigger, now=moment)
            fired += 1
        except ConcurrentModification:
            # Fired or cancelled by someone else meanwhile, or the instance moved: release it
            # so the next pass sees its current status.
            _release(engine, timer.id, worker_id)
            skipped += 1
        except WorkflowError as exc:
            _fail(engine, timer.id, str(exc))
            log.warning(
                "timer.failed",
                timer=timer.id,
                instance=timer.instance_id,
                trigger=timer.trigger,
                error=type(exc).__name__,
            )
            failed += 1
    return TimerRun(len(claimed), fired, failed, skipped)


def _release(engine: Engine, timer_id: int, worker_id: str) -> None:
    with engine.transaction() as conn:
        conn.execute(
            update(timers)
            .where(
                timers.c.id == timer_id,
                timers.c.status == "claimed",
                timers.c.claimed_by == worker_id,
            )
            .values(status="pending", claimed_by=None, lease_expires_at=None)
        )


def _fail(engine: Engine, timer_id: int, error: str) -> None:
    with engine.transaction() as conn:
        conn.execute(
            update(timers)
            .where(timers.c.id == timer_id)
            .values(status="failed", last_error=error[:2000], lease_expires_at=None)
        )
