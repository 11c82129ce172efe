"""The outbox statements: claim the head row of each instance, settle it, list and re-queue rows.

An outbox row is ``pending`` (waiting, possibly backing off until ``next_attempt_at``), ``leased``
(a dispatcher holds it until ``lease_expires_at``), ``delivered`` or ``dead`` (gave up after too
many failures; an administrator may re-queue it). The words are the timers' too
(:mod:`workflow.store.leases`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.engine import Connection, Row

from workflow.store.leases import DEAD, LEASED, PENDING, UNLEASED, Claim, expired, held_by, lease
from workflow.store.leases import reason as kept_reason
from workflow.store.tables import audit_events, directives, instances, outbox, units

DELIVERED = "delivered"
STATUSES = (PENDING, LEASED, DELIVERED, DEAD)
UNSETTLED = (PENDING, LEASED)
"""Statuses that still hold back the later rows of the same instance."""


def claim_heads(conn: Connection, claim: Claim, instance_id: int | None = None) -> list[int]:
    """Lease the oldest unsettled row of each instance when it is due at ``claim.now``, at most
    ``claim.limit`` (only ``instance_id``'s when given); return their ids.

    A row is claimable when it is pending and due, or leased under an expired lease, and no
    earlier row of its instance is still unsettled. Rows of one instance are inserted in the
    order of its audit seq (each transition commits after the one before it), so the outbox id
    orders them; a dead row no longer holds the instance back.
    """
    earlier = outbox.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.instance_id == outbox.c.instance_id,
            earlier.c.id < outbox.c.id,
            earlier.c.status.in_(UNSETTLED),
        )
        .exists()
    )
    claimable = or_(
        and_(outbox.c.status == PENDING, outbox.c.next_attempt_at <= claim.now),
        expired(outbox, claim.clock),
    )
    query = select(outbox.c.id).where(claimable, ~blocked).order_by(outbox.c.id).limit(claim.limit)
    if instance_id is not None:
        query = query.where(outbox.c.instance_id == instance_id)
    if conn.dialect.name == "postgresql":
        # Concurrent dispatchers pass over each other's rows instead of queueing on them;
        # SQLite needs nothing here, its write transactions (BEGIN IMMEDIATE) run one at a time.
        query = query.with_for_update(skip_locked=True)
    ids = [int(i) for i in conn.execute(query).scalars()]
    lease(conn, outbox, ids, claim)
    return ids


def event_rows(conn: Connection, ids: Sequence[int]) -> Sequence[Any]:
    """The outbox rows ``ids`` with their audit event, instance placement and unit name."""
    query = (
        select(
            outbox.c.id,
            outbox.c.topic,
            outbox.c.attempts,
            audit_events.c.id.label("audit_id"),
            audit_events.c.instance_id,
            audit_events.c.seq,
            audit_events.c.workflow,
            audit_events.c.trigger,
            audit_events.c.from_state,
            audit_events.c.to_state,
            audit_events.c.actor,
            audit_events.c.actor_unit,
            audit_events.c.occurred_at,
            instances.c.directive_id,
            directives.c.number.label("directive_number"),
            instances.c.unit,
            instances.c.coordinating_units,
            units.c.name_vi.label("unit_name"),
        )
        .join(audit_events, audit_events.c.id == outbox.c.audit_id)
        .join(instances, instances.c.id == audit_events.c.instance_id)
        .outerjoin(directives, directives.c.id == instances.c.directive_id)
        .outerjoin(units, units.c.code == instances.c.unit)
        .where(outbox.c.id.in_(list(ids)))
        .order_by(outbox.c.id)
    )
    return conn.execute(query).all()


def ids_after(conn: Connection, after_id: int, limit: int) -> list[int]:
    """The ids of committed outbox rows after ``after_id``, oldest first (any status)."""
    query = select(outbox.c.id).where(outbox.c.id > after_id).order_by(outbox.c.id).limit(limit)
    return [int(i) for i in conn.execute(query).scalars()]


def settle_delivered(conn: Connection, ids: Sequence[int], owner: str, now: datetime) -> set[int]:
    """Mark ``ids`` delivered where ``owner`` still holds the lease; return the ids marked."""
    if not ids:
        return set()
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(list(ids)), held_by(outbox, owner))
        .values(status=DELIVERED, delivered_at=now, last_error=None, **UNLEASED)
        .returning(outbox.c.id)
    )
    return {int(i) for i in result.scalars()}


def settle_failed(
    conn: Connection, outbox_id: int, owner: str, error: str, *, dead: bool, retry_at: datetime
) -> bool:
    """Record a failed attempt (pending again after ``retry_at``, or dead) if still leased."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, held_by(outbox, owner))
        .values(
            status=DEAD if dead else PENDING,
            next_attempt_at=retry_at,
            last_error=kept_reason(error),
            **UNLEASED,
        )
    )
    return result.rowcount == 1


def outbox_rows(
    conn: Connection,
    *,
    status: str | None,
    instance_id: int | None,
    limit: int,
    before_id: int | None,
) -> Sequence[Row[Any]]:
    """Outbox rows matching the filters given, newest first."""
    query = select(outbox)
    if status is not None:
        query = query.where(outbox.c.status == status)
    if instance_id is not None:
        query = query.where(outbox.c.instance_id == instance_id)
    if before_id is not None:
        query = query.where(outbox.c.id < before_id)
    return conn.execute(query.order_by(outbox.c.id.desc()).limit(limit)).all()


def outbox_row(conn: Connection, outbox_id: int) -> Row[Any] | None:
    return conn.execute(select(outbox).where(outbox.c.id == outbox_id)).first()


def requeue(conn: Connection, outbox_id: int, now: datetime) -> bool:
    """Put a dead row back in the queue with a fresh count of attempts."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.status == DEAD)
        .values(status=PENDING, attempts=0, next_attempt_at=now, **UNLEASED)
    )
    return result.rowcount == 1


def delete_delivered(conn: Connection, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` delivered rows delivered before ``before``, oldest first."""
    oldest = (
        select(outbox.c.id)
        .where(outbox.c.status == DELIVERED, outbox.c.delivered_at < before)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    return int(
        conn.execute(delete(outbox).where(outbox.c.id.in_(oldest.scalar_subquery()))).rowcount
    )
