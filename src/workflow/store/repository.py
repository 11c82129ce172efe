"""The statements the engine runs, as plain functions over a Connection (Core, bound parameters).

Reads, and the rows that are not a chain's (definitions, actors; idempotency keys are in
``idempotency``); every row of a chain (instances, audit events, timers, outbox, the
administrators' log) is written by ``chain_writer``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Select, Text, bindparam, cast, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from workflow.store.tables import (
    actors,
    admin_events,
    audit_events,
    definitions,
    instances,
    timers,
    workflows,
)
from workflow.workdays import DECLARATIONS, WorkCalendar

# Statements of the hot path, built once: on SQLite, building a statement and its cache key took
# longer than running it (see docs/performance.md).
_INSTANCE_BY_ID = select(instances).where(instances.c.id == bindparam("instance_id"))
_AUDIT_ROW = select(audit_events).where(
    audit_events.c.instance_id == bindparam("instance_id"), audit_events.c.seq == bindparam("seq")
)
_HISTORY = (
    select(audit_events)
    .where(audit_events.c.instance_id == bindparam("instance_id"))
    .order_by(audit_events.c.seq)
)

# --- definitions ---------------------------------------------------------------------------------


def latest_definition(
    conn: Connection, workflow: str, *, include_retired: bool = True
) -> Row[Any] | None:
    query = select(definitions).where(definitions.c.workflow == workflow)
    if not include_retired:
        query = query.where(definitions.c.retired.is_(False))
    return conn.execute(query.order_by(definitions.c.version.desc()).limit(1)).first()


def definition_row(conn: Connection, workflow: str, version: int) -> Row[Any] | None:
    return conn.execute(
        select(definitions).where(
            definitions.c.workflow == workflow, definitions.c.version == version
        )
    ).first()


def workflow_row(conn: Connection, workflow: str) -> Row[Any] | None:
    return conn.execute(select(workflows).where(workflows.c.name == workflow)).first()


def insert_definition(conn: Connection, values: Mapping[str, Any]) -> None:
    if workflow_row(conn, values["workflow"]) is None:
        conn.execute(
            insert(workflows).values(
                name=values["workflow"], disabled=False, created_at=values["deployed_at"]
            )
        )
    conn.execute(insert(definitions).values(**values))


def deployed_definitions(conn: Connection, workflow: str | None = None) -> Sequence[Row[Any]]:
    live = (
        select(instances.c.workflow, instances.c.definition_version, func.count().label("live"))
        .where(instances.c.active.is_(True))
        .group_by(instances.c.workflow, instances.c.definition_version)
        .subquery()
    )
    query = (
        select(definitions, workflows.c.disabled, func.coalesce(live.c.live, 0).label("live"))
        .join(workflows, workflows.c.name == definitions.c.workflow)
        .outerjoin(
            live,
            (live.c.workflow == definitions.c.workflow)
            & (live.c.definition_version == definitions.c.version),
        )
        .order_by(definitions.c.workflow, definitions.c.version)
    )
    if workflow is not None:
        query = query.where(definitions.c.workflow == workflow)
    return conn.execute(query).all()


# --- instances -----------------------------------------------------------------------------------


def instance_row(conn: Connection, instance_id: int) -> Row[Any] | None:
    """The instance row (a transition reads and locks it with ``chain_writer.read_for_update``)."""
    return conn.execute(_INSTANCE_BY_ID, {"instance_id": instance_id}).first()


class InstanceFilter(TypedDict, total=False):
    """Which instances a list or a count takes: every field given (and not None) must match;
    ``involving``: only those of no unit, those one of these units leads or coordinates, and
    those of the ``involving_directives``."""

    workflow: str | None
    state: str | None
    unit: str | None
    directive_id: int | None
    active: bool | None
    involving: Sequence[str] | None
    involving_directives: Sequence[int]


def _instances_where(query: Select[Any], where: InstanceFilter) -> Select[Any]:
    involving = where.get("involving")
    if involving is not None:
        # a unit's own, those it coordinates (the stored JSON list holds the code's JSON
        # spelling), those of no unit, and those of the directives named
        directives = list(where.get("involving_directives") or ())
        overseen = [instances.c.directive_id.in_(directives)] if directives else []
        query = query.where(
            or_(instances.c.unit.is_(None), *map(_involves, involving), *overseen)
        )
    for name in ("workflow", "state", "unit", "directive_id", "active"):
        value = where.get(name)
        if value is not None:
            query = query.where(instances.c[name] == value)
    return query


def instance_rows(
    conn: Connection, where: InstanceFilter, *, limit: int, before_id: int | None
) -> Sequence[Row[Any]]:
    """The instances ``where`` takes, newest first, below ``before_id`` when given."""
    query = _instances_where(select(instances), where)
    if before_id is not None:
        query = query.where(instances.c.id < before_id)
    return conn.execute(query.order_by(instances.c.id.desc()).limit(limit)).all()


def instance_count(conn: Connection, where: InstanceFilter) -> int:
    """How many instances ``where`` takes."""
    query = _instances_where(select(func.count()).select_from(instances), where)
    return int(conn.execute(query).scalar_one())


def _involves(unit: str) -> Any:
    spelled = json.dumps(unit, ensure_ascii=False)
    spelled = spelled.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    coordinating = cast(instances.c.coordinating_units, Text)
    return or_(instances.c.unit == unit, coordinating.like(f"%{spelled}%", escape="\\"))


def due_instance_rows(
    conn: Connection,
    *,
    since: datetime | None,
    until: datetime,
    workflow: str | None,
    state: str | None,
    unit: str | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """Live instances whose deadline falls in ``[since, until)`` (from the start of time when
    ``since`` is None), soonest first."""
    query = select(instances).where(
        instances.c.active.is_(True), instances.c.due_at.is_not(None), instances.c.due_at < until
    )
    if since is not None:
        query = query.where(instances.c.due_at >= since)
    for column, value in (
        (instances.c.workflow, workflow),
        (instances.c.state, state),
        (instances.c.unit, unit),
    ):
        if value is not None:
            query = query.where(column == value)
    return conn.execute(query.order_by(instances.c.due_at, instances.c.id).limit(limit)).all()


# --- audit ---------------------------------------------------------------------------------------


def audit_row(conn: Connection, instance_id: int, seq: int) -> Row[Any] | None:
    return conn.execute(_AUDIT_ROW, {"instance_id": instance_id, "seq": seq}).first()


def history_rows(conn: Connection, instance_id: int) -> Sequence[Row[Any]]:
    return conn.execute(_HISTORY, {"instance_id": instance_id}).all()


# --- timers -------------------------------------------------------------------------------------


def timer_row(conn: Connection, timer_id: int) -> Row[Any] | None:
    return conn.execute(select(timers).where(timers.c.id == timer_id)).first()


# --- actors and the administrators' log ----------------------------------------------------------


def actor_row(conn: Connection, actor_id: str) -> Row[Any] | None:
    return conn.execute(select(actors).where(actors.c.id == actor_id)).first()


def upsert_actor(
    conn: Connection,
    actor_id: str,
    roles: Sequence[str],
    unit: str | None,
    name: str | None,
    now: datetime,
) -> None:
    if actor_row(conn, actor_id) is None:
        conn.execute(
            insert(actors).values(
                id=actor_id, roles=sorted(roles), unit=unit, name=name, created_at=now
            )
        )
    else:
        conn.execute(
            update(actors)
            .where(actors.c.id == actor_id)
            .values(roles=sorted(roles), unit=unit, name=name)
        )


def actor_rows(conn: Connection) -> Sequence[Row[Any]]:
    return conn.execute(select(actors).order_by(actors.c.id)).all()


def admin_event_rows(
    conn: Connection, *, newest_first: bool = False, limit: int | None = None
) -> Iterator[Any]:
    """The administrators' log, by ``seq`` (oldest first unless asked), streamed."""
    query = select(admin_events).order_by(
        admin_events.c.seq.desc() if newest_first else admin_events.c.seq
    )
    if limit is not None:
        query = query.limit(limit)
    # Closed even when the caller stops early (a server-side cursor on PostgreSQL).
    with conn.execution_options(yield_per=2000).execute(query) as result:
        for row in result:
            yield row._mapping


def admin_action_recorded(conn: Connection, action: str) -> bool:
    """Whether the administrators' log holds an event of ``action`` (a mark once made)."""
    query = select(admin_events.c.seq).where(admin_events.c.action == action).limit(1)
    return conn.execute(query).first() is not None


def work_calendar(conn: Connection) -> WorkCalendar:
    """Vietnam's working days with the administrators' declarations (every ``calendar`` event
    of their log, oldest first)."""
    query = (
        select(admin_events.c.detail)
        .where(admin_events.c.action == DECLARATIONS)
        .order_by(admin_events.c.seq)
    )
    return WorkCalendar.from_declarations(json.loads(row.detail) for row in conn.execute(query))


def first_keyed_instant(conn: Connection) -> datetime | None:
    """When the first keyed event (either log) was written, by insertion order: from then on
    every event must be keyed. Reads from the start of each table to its first keyed row."""
    found = []
    for table in (audit_events, admin_events):
        query = (
            select(table.c.occurred_at)
            .where(table.c.key_id.is_not(None))
            .order_by(table.c.id)
            .limit(1)
        )
        moment = conn.execute(query).scalar()
        if moment is not None:
            found.append(moment)
    return min(found, default=None)
