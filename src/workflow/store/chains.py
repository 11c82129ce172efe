"""The audit chains read with the driver's own cursor, for verification at full speed.

Going through SQLAlchemy's result rows and type processing cost more than hashing: here each
dialect has one prebuilt statement whose plain tuples are streamed (SQLite: the cursor itself;
PostgreSQL: ``Cursor.stream`` in chunks, so the server reads ahead while the rows are hashed).
``occurred_at`` comes as stored (SQLite) or spelled by the server (PostgreSQL), and is turned
into the hash's spelling exactly as SQLAlchemy's reading would give it.

Beside them, the reads that need no speed: one instance's chain, the instances without events,
and each chain's head (its last seq and hash), which a checkpoint records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from workflow.hashchain.encoding import ADMIN_CHAIN
from workflow.hashchain.verifier import CHAIN_COLUMNS, HEAD_COLUMNS, ChainSource, HeadLookup
from workflow.store.tables import admin_events, audit_events, instances

_read_instant = datetime.fromisoformat  # what SQLAlchemy reads SQLite's text with
_FOUR_DIGIT_YEAR = 1000  # format_instant spells earlier years another way
# PostgreSQL spells the instant in UTC itself, for the years whose spelling is four digits.
_PG_INSTANT = (
    "CASE WHEN EXTRACT(YEAR FROM a.occurred_at AT TIME ZONE 'UTC') BETWEEN 1000 AND 9999 THEN"
    " to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') END"
)
_CHUNK = 2000


ChainRange = tuple[int | None, int | None]
"""Chains ``lo <= instance_id < hi``; None leaves that side open (the highest range takes every
value SQLite sorts after the integers too: an id edited into the log as text)."""

# Which chains a read takes, as a WHERE over the instance id (``{c}``); parameters bound.
_ALL, _ONE, _FROM, _BELOW, _BETWEEN = "", "{c} = ?", "{c} >= ?", "{c} < ?", "{c} >= ? AND {c} < ?"


def _filter_of(instance_id: int | None, chains: ChainRange | None) -> tuple[str, tuple[int, ...]]:
    if instance_id is not None:
        return _ONE, (instance_id,)
    lo, hi = chains or (None, None)
    if lo is None:
        return (_ALL, ()) if hi is None else (_BELOW, (hi,))
    return (_FROM, (lo,)) if hi is None else (_BETWEEN, (lo, hi))


def _events(instant: str, param: str, where: str, heads: bool) -> str:
    """Every event (or those of the chains ``where`` picks); with ``heads``, event 1 of each
    chain joined with its instance row's :data:`HEAD_COLUMNS`, after the chain's columns (one
    lookup a chain)."""
    picked = {"occurred_at": instant}
    columns = ", ".join(picked.get(c, f"a.{c}") for c in CHAIN_COLUMNS)
    join = ""
    if heads:
        columns += "".join(f", i.{c}" for c in HEAD_COLUMNS)
        join = " LEFT JOIN instances i ON i.id = a.instance_id AND a.seq = 1"
    if where:
        where = " WHERE " + where.format(c="a.instance_id").replace("?", param)
    return (
        f"SELECT {columns} FROM audit_events a{join}{where}"  # noqa: S608 - our columns, no input
        " ORDER BY a.instance_id, a.seq"
    )


def _heads(where: str) -> str:
    """The instance rows' :data:`HEAD_COLUMNS` by id, after the id."""
    if where:
        where = " WHERE " + where.format(c="id")
    return f"SELECT id, {', '.join(HEAD_COLUMNS)} FROM instances{where} ORDER BY id"  # noqa: S608


# SQLite reads the heads with a second cursor beside the events' (one connection, one snapshot),
# merged by id: a join on every event costs a fifth of the whole read. PostgreSQL streams the
# events, and a stream holds the connection, so its events carry their heads by a join. Only
# SQLite's verification is split into ranges of chains (over processes: Engine.verify).
_FILTERS = (_ALL, _ONE, _FROM, _BELOW, _BETWEEN)
_EVENTS = {
    (dialect, where): _events(instant, param, where, heads=dialect == "postgresql")
    for dialect, instant, param, filters in (
        ("sqlite", "a.occurred_at", "?", _FILTERS),
        ("postgresql", _PG_INSTANT, "%s", (_ALL, _ONE)),
    )
    for where in filters
}
_HEADS = {where: _heads(where) for where in _FILTERS}
_JOINED_HEAD = len(CHAIN_COLUMNS)


def _joined_head(instance_id: int, first: Sequence[Any]) -> Sequence[Any] | None:
    """A PostgreSQL chain's head, joined onto its event 1."""
    head = first[_JOINED_HEAD:]
    return None if head[1] is None else head  # version is never null in an instance row


def _merged_heads(rows: Iterable[Sequence[Any]]) -> HeadLookup:
    """The heads read beside the events, both by id: each chain's is found by moving on."""
    heads = iter(rows)
    current: Sequence[Any] | None = next(heads, None)

    def head(instance_id: int, first: Sequence[Any]) -> Sequence[Any] | None:
        nonlocal current
        if type(instance_id) is not int:
            return None  # a value edited into the column: the chain's checks report it
        while current is not None and current[0] < instance_id:
            current = next(heads, None)
        return current[1:] if current is not None and current[0] == instance_id else None

    return head


def _sqlite_instant(stored: str) -> str:
    """The stored text → the quoted instant of the hash, as SQLAlchemy's reading would give it.

    What SQLAlchemy writes, ``2026-01-05 08:00:00.000000`` (a real date and time in exactly
    that shape, year 1000 or later), is spelled by the same digits: the characters are moved.
    """
    if len(stored) == 26 and stored[4:20:3] == "-- ::." and stored[0] != "0":
        _read_instant(stored)  # ValueError unless the digits are a real date and time
        return f'"{stored[:10]}T{stored[11:]}Z"'
    return _other_spelling(stored)


def _other_spelling(stored: str) -> str:
    """Any other naive ISO spelling reads as UTC (``fromisoformat``, what SQLAlchemy uses)."""
    moment = _read_instant(stored)
    if moment.tzinfo is not None or moment.year < _FOUR_DIGIT_YEAR:
        raise ValueError(stored)
    return f'"{moment.isoformat("T", "microseconds")}Z"'


def chain_rows(conn: Connection, instance_id: int) -> Iterator[Any]:
    """One instance's audit rows joined with its head, through the Core table, by seq."""
    query = (
        select(
            audit_events,
            instances.c.state.label("head_state"),
            instances.c.version.label("head_version"),
            instances.c.last_hash.label("head_last_hash"),
        )
        .join(instances, instances.c.id == audit_events.c.instance_id)
        .where(audit_events.c.instance_id == instance_id)
        .order_by(audit_events.c.seq)
    )
    for row in conn.execute(query):
        yield row._mapping


def instances_without_events(conn: Connection, chains: ChainRange | None = None) -> list[int]:
    orphan = ~select(audit_events.c.id).where(audit_events.c.instance_id == instances.c.id).exists()
    query = select(instances.c.id).where(orphan).order_by(instances.c.id)
    lo, hi = chains or (None, None)
    if lo is not None:
        query = query.where(instances.c.id >= lo)
    if hi is not None:
        query = query.where(instances.c.id < hi)
    return [int(r) for r in conn.execute(query).scalars()]


def chain_heads(conn: Connection) -> list[tuple[int, int, str]]:
    """The last event of every chain as (chain, seq, hash), read from the audit rows themselves
    (not from ``instances.last_hash``): the administrators' log first as chain
    :data:`~workflow.hashchain.encoding.ADMIN_CHAIN` when it has events, then each instance's by
    id."""
    last = (
        select(audit_events.c.instance_id, func.max(audit_events.c.seq).label("seq"))
        .group_by(audit_events.c.instance_id)
        .subquery()
    )
    query = (
        select(audit_events.c.instance_id, audit_events.c.seq, audit_events.c.hash)
        .join(
            last,
            (last.c.instance_id == audit_events.c.instance_id) & (last.c.seq == audit_events.c.seq),
        )
        .order_by(audit_events.c.instance_id)
    )
    admin_head = (
        select(admin_events.c.seq, admin_events.c.hash).order_by(admin_events.c.seq.desc()).limit(1)
    )
    heads = [(ADMIN_CHAIN, int(r.seq), str(r.hash)) for r in conn.execute(admin_head)]
    heads.extend((int(r[0]), int(r[1]), str(r[2])) for r in conn.execute(query))
    return heads


def _stream(cursor: Any, sql: str, params: tuple[Any, ...]) -> Iterable[Sequence[Any]]:
    """The rows as the server sends them, in chunks where psycopg and libpq can (3.2, 17)."""
    import psycopg  # noqa: PLC0415 - only PostgreSQL gets here

    capabilities = getattr(psycopg, "capabilities", None)
    if capabilities is not None and capabilities.has_stream_chunked():
        return cursor.stream(sql, params, size=_CHUNK)  # type: ignore[no-any-return]
    return cursor.stream(sql, params)  # type: ignore[no-any-return]


@contextmanager
def chain_source(
    conn: Connection, instance_id: int | None = None, chains: ChainRange | None = None
) -> Iterator[ChainSource]:
    """Every chain (or one instance's, or a range of them on SQLite), streamed in constant
    memory.

    ``conn`` must be in a transaction that sees one snapshot (PostgreSQL: repeatable read):
    the chains that fail the fast path and the instances without events are read after.
    """
    where, params = _filter_of(instance_id, chains)
    sql = _EVENTS[(conn.dialect.name, where)]
    driver: Any = conn.connection.driver_connection
    cursor: Any = driver.cursor()
    heads: Any = None
    rows: Any = None
    try:
        head: HeadLookup
        if conn.dialect.name == "postgresql":
            rows = _stream(cursor, sql, params)
            head = _joined_head
            # PostgreSQL's text is the hash's spelling already (NULL outside years 1000-9999).
            instant = json.encoder.encode_basestring
        else:
            heads = driver.cursor()
            head = _merged_heads(heads.execute(_HEADS[where], params))
            rows = cursor.execute(sql, params)
            instant = _sqlite_instant
        yield ChainSource(
            rows,
            head,
            instant,
            lambda chain: chain_rows(conn, chain),
            lambda: instances_without_events(conn, chains),
        )
    finally:
        if hasattr(rows, "throw"):
            # A stream left early holds the connection's lock until it is closed (which
            # cancels the statement); the rollback would wait for it for ever.
            rows.close()
        cursor.close()
        if heads is not None:
            heads.close()


def event_without_instance(conn: Connection) -> bool:
    """Whether an event names no instance at all (a NULL edited in past the NOT NULL): no range
    of instance ids holds it, so only the whole walk reports it as it does. By index."""
    orphaned = select(audit_events.c.id).where(audit_events.c.instance_id.is_(None)).limit(1)
    return conn.execute(orphaned).first() is not None


def chain_span(conn: Connection) -> tuple[int, int, int] | None:
    """(lowest instance id, highest, how many events at most), read by index, to split the
    chains into ranges of instance ids; None when there is no instance, or an event names none
    (:func:`event_without_instance`)."""
    if event_without_instance(conn):
        return None
    lo = conn.execute(select(func.min(instances.c.id))).scalar()
    hi = conn.execute(select(func.max(instances.c.id))).scalar()
    size = conn.execute(select(func.max(audit_events.c.id))).scalar()
    return None if lo is None or hi is None else (int(lo), int(hi), int(size or 0))
