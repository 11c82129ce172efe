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
    overdue: bool = False,
    within: timedelta | None = None,
    now: datetime | None = None,
    workflow: str | None = None,
    state: str | None = None,
    unit: str | None = None,
    limit: int = 100,
) -> list[Instance]:
    """Live instances by deadline, soonest first: ``overdue`` ones (``due_at < now``) or those
    not yet overdue that fall due ``within`` the given span (``now <= due_at < now + within``).

    ``now`` is the engine's clock unless given; give exactly one of ``overdue`` and ``within``.
    """
    if overdue == (within is not None):
        raise InvalidInput("ask for overdue instances or for those due within a span, not both")
    if within is not None and within <= timedelta(0):
        raise InvalidInput("the span of a due-within query must be longer than zero")
    moment = engine.now() if now is None else require_aware(now, "now")
    query = select(instances).where(instances.c.active.is_(True), instances.c.due_at.is_not(None))
    if within is None:
        query = query.where(instances.c.due_at < moment)
    else:
        query = query.where(instances.c.due_at >= moment, instances.c.due_at < moment + within)
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
