"""The statements of version administration: retiring, disabling, and migrating instances."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Row

from workflow.store.chain_writer import LIVE_TIMER_STATUSES
from workflow.store.tables import definitions, instances, timers, workflows

CHUNK = 500


def set_retired(conn: Connection, workflow: str, version: int, retired: bool) -> None:
    conn.execute(
        update(definitions)
        .where(definitions.c.workflow == workflow, definitions.c.version == version)
        .values(retired=retired)
    )


def set_disabled(conn: Connection, workflow: str, disabled: bool) -> None:
    conn.execute(update(workflows).where(workflows.c.name == workflow).values(disabled=disabled))


def live_instances(
    conn: Connection,
    workflow: str,
    version: int,
    *,
    states: Collection[str] = (),
    units: Collection[str] = (),
) -> Sequence[Row[Any]]:
    """The running instances of ``workflow@version``, oldest first, optionally filtered."""
    query = select(instances).where(
        instances.c.workflow == workflow,
        instances.c.definition_version == version,
        instances.c.active.is_(True),
    )
    if states:
        query = query.where(instances.c.state.in_(sorted(states)))
    if units:
        query = query.where(instances.c.unit.in_(sorted(units)))
    return conn.execute(query.order_by(instances.c.id)).all()


def pending_timers(conn: Connection, instance_ids: Sequence[int]) -> Sequence[Row[Any]]:
    """Pending (or leased) timer rows of these instances."""
    rows: list[Row[Any]] = []
    ids = list(instance_ids)
    for start in range(0, len(ids), CHUNK):  # stay far below SQLite's bound-parameter limit
        rows += conn.execute(
            select(timers)
            .where(
                timers.c.instance_id.in_(ids[start : start + CHUNK]),
                timers.c.status.in_(LIVE_TIMER_STATUSES),
            )
            .order_by(timers.c.instance_id, timers.c.id)
        ).all()
    return rows


def live_count(conn: Connection, workflow: str, version: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(instances)
            .where(
                instances.c.workflow == workflow,
                instances.c.definition_version == version,
                instances.c.active.is_(True),
            )
        ).scalar_one()
    )
