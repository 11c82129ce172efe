"""The timers' statements after the chain wrote them: claim due rows under a lease, hand them
back, park a failed one, re-queue it, list them.

A timer row is ``pending`` until due, ``claimed`` by a worker until ``lease_expires_at``, then
``fired`` (in the transition's own transaction, by ``chain_writer``), ``cancelled`` (its state
was left) or ``failed`` (the rules refused it; an administrator may re-queue it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection, Row

from workflow.store.tables import instances, timers

STATUSES = ("pending", "claimed", "fired", "cancelled", "failed")
MAX_ERROR_CHARS = 2000

_WITH_WORKFLOW = select(
    timers, instances.c.workflow, instances.c.state.label("instance_state")
).join(instances, instances.c.id == timers.c.instance_id)


def claim_due(
    conn: Connection,
    *,
    now: datetime,
    owner: str,
    clock: datetime,
    lease_until: datetime,
    limit: int,
) -> Sequence[Any]:
    """Claim up to ``limit`` timers due at ``now`` (pending, or claimed under a lease expired by
    ``clock``, the engine's clock: ``now`` may be a chosen moment, a lease never is):
    (id, instance_id, trigger, due_at, version of the instance seen)."""
    claimable = or_(
        timers.c.status == "pending",
        (timers.c.status == "claimed") & (timers.c.lease_expires_at < clock),
    )
    query = (
        select(
            timers.c.id,
            timers.c.instance_id,
            timers.c.trigger,
            timers.c.due_at,
            instances.c.version,
        )
        .join(instances, instances.c.id == timers.c.instance_id)
        .where(claimable, timers.c.due_at <= now)
        .order_by(timers.c.due_at, timers.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        # Lock only the timer rows: instances stay free for people's transitions, and a
        # row another worker is claiming right now is skipped instead of waited for.
        query = query.with_for_update(skip_locked=True, of=timers)
    rows = conn.execute(query).all()
    if rows:
        conn.execute(
            update(timers)
            .where(timers.c.id.in_([r.id for r in rows]))
            .values(
                status="claimed",
                claimed_by=owner,
                lease_expires_at=lease_until,
                attempts=timers.c.attempts + 1,
            )
        )
    return rows


def release(conn: Connection, timer_ids: Sequence[int], owner: str) -> None:
    """Hand back timers ``owner`` still holds, unfired: pending again."""
    conn.execute(
        update(timers)
        .where(
            timers.c.id.in_(list(timer_ids)),
            timers.c.status == "claimed",
            timers.c.claimed_by == owner,
        )
        .values(status="pending", claimed_by=None, lease_expires_at=None)
    )


def park_failed(conn: Connection, timer_id: int, owner: str, error: str) -> None:
    """Park a timer ``owner`` holds as failed, with the reason on its row."""
    conn.execute(
        update(timers)
        .where(timers.c.id == timer_id, timers.c.status == "claimed", timers.c.claimed_by == owner)
        .values(status="failed", last_error=error[:MAX_ERROR_CHARS], lease_expires_at=None)
    )


def requeue_failed(conn: Connection, timer_id: int) -> bool:
    """Put a failed timer back in the queue (pending, no owner, no error)."""
    result = conn.execute(
        update(timers)
        .where(timers.c.id == timer_id, timers.c.status == "failed")
        .values(status="pending", claimed_by=None, lease_expires_at=None, last_error=None)
    )
    return result.rowcount == 1


def timer_row(conn: Connection, timer_id: int) -> Row[Any] | None:
    """One timer row with its instance's ``workflow`` and current state (``instance_state``)."""
    return conn.execute(_WITH_WORKFLOW.where(timers.c.id == timer_id)).first()


def timer_rows(
    conn: Connection, *, status: str | None, instance_id: int | None, limit: int
) -> Sequence[Row[Any]]:
    """Timer rows as :func:`timer_row` gives them, soonest due first, filtered if asked."""
    query = _WITH_WORKFLOW.order_by(timers.c.due_at, timers.c.id).limit(limit)
    if status is not None:
        query = query.where(timers.c.status == status)
    if instance_id is not None:
        query = query.where(timers.c.instance_id == instance_id)
    return conn.execute(query).all()
