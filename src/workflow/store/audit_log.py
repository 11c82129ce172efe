"""The audit log's reads for auditors: filtered streams, counts, search, broken-chain lookups.

Filters are given as ``criteria``: ``instance_id``, ``directive_id``, ``workflow``, ``actor``,
``trigger`` (equal), ``since`` and ``until`` (inclusive bounds on ``occurred_at``); a value of
None does not filter. Streams read ``STREAM_BATCH`` rows at a time, in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from workflow.store.tables import audit_events, instances

STREAM_BATCH = 2000

_EQUAL = {
    "instance_id": audit_events.c.instance_id,
    "directive_id": instances.c.directive_id,
    "workflow": audit_events.c.workflow,
    "actor": audit_events.c.actor,
    "trigger": audit_events.c.trigger,
}


def _filtered(query: Select[Any], criteria: Mapping[str, Any]) -> Select[Any]:
    for name, column in _EQUAL.items():
        value = criteria.get(name)
        if value is not None:
            query = query.where(column == value)
    if criteria.get("since") is not None:
        query = query.where(audit_events.c.occurred_at >= criteria["since"])
    if criteria.get("until") is not None:
        query = query.where(audit_events.c.occurred_at <= criteria["until"])
    return query


def _stream(conn: Connection, query: Select[Any]) -> Iterator[Any]:
    with conn.execution_options(yield_per=STREAM_BATCH).execute(query) as result:
        for row in result:
            yield row._mapping


def rows_with_heads(conn: Connection, criteria: Mapping[str, Any]) -> Iterator[Any]:
    """Audit rows with their instance's head (``head_state``, ``head_version``,
    ``head_last_hash``), by (instance, seq), streamed."""
    query = _filtered(
        select(
            audit_events,
            instances.c.state.label("head_state"),
            instances.c.version.label("head_version"),
            instances.c.last_hash.label("head_last_hash"),
        ).join(instances, instances.c.id == audit_events.c.instance_id),
        criteria,
    ).order_by(audit_events.c.instance_id, audit_events.c.seq)
    return _stream(conn, query)


def count_rows(conn: Connection, criteria: Mapping[str, Any]) -> int:
    """How many rows :func:`rows_with_heads` would yield."""
    query = _filtered(
        select(func.count())
        .select_from(audit_events)
        .join(instances, instances.c.id == audit_events.c.instance_id),
        criteria,
    )
    return int(conn.execute(query).scalar_one())


def search_rows(
    conn: Connection, criteria: Mapping[str, Any], limit: int | None = None
) -> Iterator[Any]:
    """Audit rows matching ``criteria`` across instances, oldest first, streamed."""
    query = _filtered(
        select(audit_events).join(instances, instances.c.id == audit_events.c.instance_id),
        criteria,
    ).order_by(audit_events.c.occurred_at, audit_events.c.instance_id, audit_events.c.seq)
    if limit is not None:
        query = query.limit(limit)
    return _stream(conn, query)


def headless_chain_ids(conn: Connection) -> list[int]:
    """Instances whose audit events remain while the instance row is gone."""
    gone = ~select(instances.c.id).where(instances.c.id == audit_events.c.instance_id).exists()
    query = (
        select(audit_events.c.instance_id)
        .where(gone)
        .distinct()
        .order_by(audit_events.c.instance_id)
    )
    return [int(r) for r in conn.execute(query).scalars()]
