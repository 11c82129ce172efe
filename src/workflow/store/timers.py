"""The timers' statements after the chain wrote them: claim due rows under a lease, hand them
back, park a dead one, re-queue it, list them.

A timer row is ``pending`` until due, ``leased`` to a worker until ``lease_expires_at``, then
``fired`` (in the transition's own transaction, by ``chain_writer``), ``cancelled`` (its state
was left) or ``dead`` (the rules refused it; an administrator may re-queue it). The words are
the outbox's too (:mod:`workflow.store.leases`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection, Row

from workflow.store.leases import DEAD, LEASED, PENDING, UNLEASED, Claim, expired, held_by, lease
from workflow.store.leases import reason as kept_reason
from workflow.store.tables import instances, timers

STATUSES = (PENDING, LEASED, "fired", "cancelled", DEAD)

_WITH_WORKFLOW = select(
    timers, instances.c.workflow, instances.c.state.label("instance_state")
).join(instances, instances.c.id == timers.c.instance_id)


def claim_due(conn: Connection, claim: Claim) -> Sequence[Any]:
    """Lease the timers due at ``claim.now`` (pending, or leased under an expired lease), at
    most ``claim.limit``: (id, instance_id, trigger, due_at, version of the instance seen)."""
    query = (
        select(
            timers.c.id,
            timers.c.instance_id,
            timers.c.trigger,
            timers.c.due_at,
            instances.c.version,
        )
        .join(instances, instances.c.id == timers.c.instance_id)
        .where(or_(timers.c.status == PENDING, expired(timers, claim.clock)))
        .where(timers.c.due_at <= claim.now)
        .order_by(timers.c.due_at, timers.c.id)
        .limit(claim.limit)
    )
    if conn.dialect.name == "postgresql":
        # Lock only the timer rows: instances stay free for people's transitions, and a
        # row another worker is claiming right now is skipped instead of waited for.
        query = query.with_for_update(skip_locked=True, of=timers)
    rows = conn.execute(query).all()
    lease(conn, timers, [r.id for r in rows], claim)
    return rows


def release(conn: Connection, timer_ids: Sequence[int], owner: str) -> None:
    """Hand back timers ``owner`` still holds, unfired: pending again."""
    conn.execute(
        update(timers)
        .where(timers.c.id.in_(list(timer_ids)), held_by(timers, owner))
        .values(status=PENDING, **UNLEASED)
    )


def park_dead(conn: Connection, timer_id: int, owner: str, error: str) -> None:
    """Park a timer ``owner`` holds as dead, with the reason on its row."""
    conn.execute(
        update(timers)
        .where(timers.c.id == timer_id, held_by(timers, owner))
        .values(status=DEAD, last_error=kept_reason(error), **UNLEASED)
    )


def requeue(conn: Connection, timer_id: int) -> bool:
    """Put a dead timer back in the queue (pending, no owner, no error)."""
    result = conn.execute(
        update(timers)
        .where(timers.c.id == timer_id, timers.c.status == DEAD)
        .values(status=PENDING, last_error=None, **UNLEASED)
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
