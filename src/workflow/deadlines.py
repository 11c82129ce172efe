"""Deadline queries: which live instances are overdue, which fall due soon.

An instance's deadline is ``instances.due_at``, copied from its definition's ``deadline_field`` on
every transition and indexed with ``active``; finished instances are never overdue.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from workflow.clock import require_aware
from workflow.engine import Engine
from workflow.errors import InvalidInput
from workflow.records import Instance
from workflow.store.database import read_transaction
from workflow.store.mapping import to_instance
from workflow.store.tables import instances


def due_instances(
    engine: Engine,
    *,
    before: datetime,
    not_before: datetime | None = None,
    workflow: str | None = None,
    state: str | None = None,
    unit: str | None = None,
    limit: int = 100,
) -> list[Instance]:
    """Active instances with ``not_before <= due_at < before``, soonest deadline first."""
    query = select(instances).where(
        instances.c.active.is_(True),
        instances.c.due_at.is_not(None),
        instances.c.due_at < require_aware(before, "before"),
    )
    if not_before is not None:
        query = query.where(instances.c.due_at >= require_aware(not_before, "not_before"))
    for column, value in (
        (instances.c.workflow, workflow),
        (instances.c.state, state),
        (instances.c.unit, unit),
    ):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(instances.c.due_at, instances.c.id).limit(limit)
    with read_transaction(engine.db) as conn:
        return [to_instance(r) for r in conn.execute(query).all()]


def overdue(
    engine: Engine,
    *,
    now: datetime | None = None,
    workflow: str | None = None,
    state: str | None = None,
    unit: str | None = None,
    limit: int = 100,
) -> list[Instance]:
    """Live instances whose deadline has passed at ``now`` (the engine's clock by default)."""
    moment = engine.now() if now is None else now
    return due_instances(
        engine, before=moment, workflow=workflow, state=state, unit=unit, limit=limit
    )


def due_within(
    engine: Engine,
    within: timedelta,
    *,
    now: datetime | None = None,
    workflow: str | None = None,
    state: str | None = None,
    unit: str | None = None,
    limit: int = 100,
) -> list[Instance]:
    """Live instances not yet overdue whose deadline falls in the next ``within``."""
    if within <= timedelta(0):
        raise InvalidInput("the window of --due-within must be longer than zero")
    moment = engine.now() if now is None else require_aware(now, "now")
    return due_instances(
        engine,
        before=moment + within,
        not_before=moment,
        workflow=workflow,
        state=state,
        unit=unit,
        limit=limit,
    )
