"""Deadline queries: which live instances are overdue, which fall due soon.

An instance's deadline is ``instances.due_at``, copied from its definition's ``deadline_field`` on
every transition and indexed with ``active``; finished instances are never overdue.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflow.clock import require_aware
from workflow.engine import Engine
from workflow.errors import InvalidInput
from workflow.records import Instance
from workflow.store import repository as repo
from workflow.store.mapping import to_instance


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
    with engine.read_transaction() as conn:
        rows = repo.due_instance_rows(
            conn,
            since=None if within is None else moment,
            until=moment if within is None else moment + within,
            workflow=workflow,
            state=state,
            unit=unit,
            limit=limit,
        )
    return [to_instance(r) for r in rows]
