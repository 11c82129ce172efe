"""The statements the engine runs, as plain functions over a Connection (Core, bound parameters)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.expression import ClauseElement

from workflow.audit import GENESIS, admin_event_hash, canonical_json, event_hash
from workflow.store import hotpath
from workflow.store.tables import (
    actors,
    admin_events,
    audit_events,
    definitions,
    idempotency_keys,
    instances,
    outbox,
    timers,
    workflows,
)

# Statements of the hot path, built once: on SQLite, building a statement and its cache key took
# longer than running it (see docs/performance.md). UPDATEs take their SET columns from the keys
# of the parameters; the WHERE clause uses bind names that are no column's name.
_INSTANCE_BY_ID = select(instances).where(instances.c.id == bindparam("instance_id"))
_INSERT_INSTANCE = insert(instances).returning(instances.c.id)
_UPDATE_INSTANCE = update(instances).where(
    instances.c.id == bindparam("_instance_id"), instances.c.version == bindparam("_seen_version")
)
_INSERT_AUDIT = insert(audit_events).returning(audit_events.c.id)
_AUDIT_ROW = select(audit_events).where(
    audit_events.c.instance_id == bindparam("instance_id"), audit_events.c.seq == bindparam("seq")
)
_HISTORY = (
    select(audit_events)
    .where(audit_events.c.instance_id == bindparam("instance_id"))
    .order_by(audit_events.c.seq)
)
_CANCEL_TIMERS = (
    update(timers)
    .where(
        timers.c.instance_id == bindparam("_instance_id"),
        # Two plain comparisons, not IN: an IN list is an "expanding" parameter that
        # SQLAlchemy re-renders into the SQL on every execution.
        or_(timers.c.status == "pending", timers.c.status == "claimed"),
    )
    .values(status="cancelled", fired_at=None, last_error=None, lease_expires_at=None)
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
    """The instance row (a transition reads and locks it with ``hotpath.instance_for_update``)."""
    return conn.execute(_INSTANCE_BY_ID, {"instance_id": instance_id}).first()


def instance_rows(
    conn: Connection,
    *,
    workflow: str | None,
    state: str | None,
    unit: str | None,
    directive_id: int | None,
    active: bool | None,
    limit: int,
    before_id: int | None,
) -> Sequence[Row[Any]]:
    query = select(instances)
    for column, value in (
        (instances.c.workflow, workflow),
        (instances.c.state, state),
        (instances.c.unit, unit),
        (instances.c.directive_id, directive_id),
        (instances.c.active, active),
    ):
        if value is not None:
            query = query.where(column == value)
    if before_id is not None:
        query = query.where(instances.c.id < before_id)
    return conn.execute(query.order_by(instances.c.id.desc()).limit(limit)).all()


def insert_instance(conn: Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(_INSERT_INSTANCE, dict(values))
    return int(result.scalar_one())


def new_ids(conn: Connection, table: str, count: int) -> list[int]:
    """``count`` fresh ids for ``table``, ascending, taken inside the write transaction.

    A batch with ``RETURNING`` in parameter order runs row by row (the tables have no sentinel
    column), so a batch takes its ids first and inserts them: on PostgreSQL from the column's
    sequence; on SQLite the next rowids, which is what SQLite would choose (no AUTOINCREMENT)
    and safe because the write transaction holds the database's write lock.
    """
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence(%(table)s, 'id'))"
            " FROM generate_series(1, %(count)s)",
            {"table": table, "count": count},
        )
        return sorted(int(i) for i in rows.scalars())
    top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar_one()  # noqa: S608 - our table name
    return list(range(int(top) + 1, int(top) + 1 + count))


def insert_instances(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many instances, ids (from :func:`new_ids`) included, in one batch."""
    hotpath.insert_rows(conn, instances, rows)


def update_instance(
    conn: Connection, instance_id: int, seen_version: int, values: Mapping[str, Any]
) -> bool:
    """Apply ``values`` only if the instance is still at ``seen_version`` (optimistic check)."""
    if any(isinstance(v, ClauseElement) for v in values.values()):
        # An SQL expression (``version + 1``) cannot be a bound value: build this one.
        statement = _UPDATE_INSTANCE.values(**values)
        result = conn.execute(
            statement, {"_instance_id": instance_id, "_seen_version": seen_version}
        )
    else:
        result = conn.execute(
            _UPDATE_INSTANCE,
            {**values, "_instance_id": instance_id, "_seen_version": seen_version},
        )
    return result.rowcount == 1


# --- audit ---------------------------------------------------------------------------------------


def audit_values(
    *,
    instance_id: int,
    seq: int,
    kind: str,
    trigger: str | None,
    from_state: str | None,
    to_state: str,
    actor: str,
    actor_roles: Sequence[str],
    actor_unit: str | None,
    reason: str | None,
    payload: Mapping[str, Any],
    data: Mapping[str, Any],
    workflow: str,
    definition_version: int,
    definition_hash: str,
    occurred_at: datetime,
    prev_hash: str,
) -> dict[str, Any]:
    """The full audit row, hash included, ready to insert."""
    row: dict[str, Any] = {
        "instance_id": instance_id,
        "seq": seq,
        "kind": kind,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor": actor,
        "actor_roles": canonical_json(sorted(actor_roles)),
        "actor_unit": actor_unit,
        "reason": reason,
        "payload": canonical_json(dict(payload)),
        "data": canonical_json(dict(data)),
        "workflow": workflow,
        "definition_version": definition_version,
        "definition_hash": definition_hash,
        "occurred_at": occurred_at,
        "prev_hash": prev_hash,
    }
    row["hash"] = event_hash(row)
    return row


def insert_audit(conn: Connection, row: Mapping[str, Any]) -> int:
    result = conn.execute(_INSERT_AUDIT, dict(row))
    return int(result.scalar_one())


def insert_audits(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many audit rows, ids (from :func:`new_ids`) included, in one batch."""
    hotpath.insert_rows(conn, audit_events, rows)


def audit_row(conn: Connection, instance_id: int, seq: int) -> Row[Any] | None:
    return conn.execute(_AUDIT_ROW, {"instance_id": instance_id, "seq": seq}).first()


def history_rows(conn: Connection, instance_id: int) -> Sequence[Row[Any]]:
    return conn.execute(_HISTORY, {"instance_id": instance_id}).all()


# --- idempotency ---------------------------------------------------------------------------------


def idempotent_result(conn: Connection, key: str) -> Row[Any] | None:
    return conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key)).first()


def remember_idempotency(
    conn: Connection, key: str, instance_id: int, seq: int, now: datetime
) -> None:
    conn.execute(
        insert(idempotency_keys).values(key=key, instance_id=instance_id, seq=seq, created_at=now)
    )


# --- timers and outbox, written in the transition's transaction ----------------------------------


def cancel_pending_timers(conn: Connection, instance_id: int, now: datetime) -> None:
    conn.execute(_CANCEL_TIMERS, {"_instance_id": instance_id})


def insert_timers(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    hotpath.insert_rows(conn, timers, rows)


def timer_row(conn: Connection, timer_id: int) -> Row[Any] | None:
    return conn.execute(select(timers).where(timers.c.id == timer_id)).first()


def mark_timer_fired(conn: Connection, timer_id: int, now: datetime) -> bool:
    result = conn.execute(
        update(timers)
        .where(timers.c.id == timer_id, timers.c.status.in_(("pending", "claimed")))
        .values(status="fired", fired_at=now, lease_expires_at=None)
    )
    return result.rowcount == 1


def insert_outbox(
    conn: Connection, audit_id: int, instance_id: int, topic: str, now: datetime
) -> None:
    insert_outbox_rows(conn, [(audit_id, instance_id, topic)], now)


def insert_outbox_rows(
    conn: Connection, events: Sequence[tuple[int, int, str]], now: datetime
) -> None:
    """One pending outbox row per (audit id, instance id, topic), in one batch."""
    rows = [
        {
            "audit_id": audit_id,
            "instance_id": instance_id,
            "topic": topic,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for audit_id, instance_id, topic in events
    ]
    hotpath.insert_rows(conn, outbox, rows)


# --- actors and the administrators' chain --------------------------------------------------------


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


def append_admin_event(
    conn: Connection,
    action: str,
    subject: str,
    actor: str,
    detail: Mapping[str, Any],
    now: datetime,
) -> None:
    """Append to the administrators' hash chain (deployments, actors, retirements)."""
    last = conn.execute(
        select(admin_events.c.seq, admin_events.c.hash).order_by(admin_events.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (1, GENESIS) if last is None else (int(last.seq) + 1, str(last.hash))
    fields: dict[str, Any] = {
        "seq": seq,
        "action": action,
        "subject": subject,
        "actor": actor,
        "detail": canonical_json(dict(detail)),
        "occurred_at": now,
        "prev_hash": prev,
    }
    conn.execute(insert(admin_events).values(**fields, hash=admin_event_hash(**fields)))


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
