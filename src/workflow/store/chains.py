"""The audit chains read with the driver's own cursors, for verification at full speed.

Going through SQLAlchemy's result rows and type processing cost more than hashing: here each
dialect has one prebuilt statement and streams plain tuples (SQLite: the cursor itself;
PostgreSQL: server-side cursors). ``occurred_at`` is read in its stored form (SQLite) or
formatted by the server (PostgreSQL) and turned into the hash's spelling only when it has the
exact shape whose spelling is known; any other row is read again through the Core table, as
every other read does, by :func:`workflow.audit.verify_chains`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow.audit import CHAIN_COLUMNS, HEAD_COLUMNS, ChainSource
from workflow.store.tables import audit_events

_read_instant = datetime.fromisoformat
_FOUR_DIGIT_YEAR = 1000  # format_instant spells earlier years another way
# PostgreSQL spells the instant itself, in UTC, for the years whose spelling is four digits.
_PG_INSTANT = (
    "CASE WHEN EXTRACT(YEAR FROM occurred_at AT TIME ZONE 'UTC') BETWEEN 1000 AND 9999"
    " THEN to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') END"
)
_FETCH = 5000


def _select(instant: str, param: str, filtered: bool) -> tuple[str, str]:
    columns = ", ".join(instant if c == "occurred_at" else c for c in CHAIN_COLUMNS)
    events = f"SELECT {columns} FROM audit_events"  # noqa: S608 - our columns, no input
    heads = f"SELECT {', '.join(HEAD_COLUMNS)} FROM instances"  # noqa: S608 - the same
    if filtered:
        events += f" WHERE instance_id = {param}"
        heads += f" WHERE id = {param}"
    return events + " ORDER BY instance_id, seq", heads + " ORDER BY id"


_STATEMENTS = {
    (dialect, filtered): _select(instant, param, filtered)
    for dialect, instant, param in (
        ("sqlite", "occurred_at", "?"),
        ("postgresql", _PG_INSTANT, "%s"),
    )
    for filtered in (False, True)
}


def _sqlite_instant(stored: str) -> str:
    """The stored text → the quoted instant of the hash, as SQLAlchemy's reading would give it.

    Any naive ISO spelling reads as UTC (``fromisoformat``, what SQLAlchemy uses); the one it
    writes, ``2026-01-05 08:00:00.000000``, is turned into ``"2026-01-05T08:00:00.000000Z"``
    by moving characters (a real date in exactly that shape is spelled by the same digits).
    """
    moment = _read_instant(stored)
    if moment.tzinfo is not None or moment.year < _FOUR_DIGIT_YEAR:
        raise ValueError(stored)
    if len(stored) == 26 and stored[4:20:3] == "-- ::.":
        return f'"{stored[:10]}T{stored[11:]}Z"'
    return f'"{moment.isoformat("T", "microseconds")}Z"'


@contextmanager
def chain_source(conn: Connection, instance_id: int | None = None) -> Iterator[ChainSource]:
    """Every audit row and instance head (or one instance's), streamed in constant memory.

    ``conn`` must be in a transaction that sees one snapshot (PostgreSQL: repeatable read),
    since the events and the heads are two statements.
    """
    postgres = conn.dialect.name == "postgresql"
    events_sql, heads_sql = _STATEMENTS[(conn.dialect.name, instance_id is not None)]
    params = () if instance_id is None else (instance_id,)
    driver: Any = conn.connection.driver_connection
    if postgres:
        events = driver.cursor(name="workflow_chain_events")
        heads = driver.cursor(name="workflow_chain_heads")
        events.itersize = heads.itersize = _FETCH
    else:
        events, heads = driver.cursor(), driver.cursor()

    def row(row_id: int) -> Mapping[str, Any]:
        query = select(audit_events).where(audit_events.c.id == row_id)
        return dict(conn.execute(query).one()._mapping)

    try:
        events.execute(events_sql, params)
        heads.execute(heads_sql, params)
        # PostgreSQL's text is the hash's spelling already (NULL outside years 1000-9999).
        instant = json.encoder.encode_basestring if postgres else _sqlite_instant
        yield ChainSource(events, heads, instant, row)
    finally:
        events.close()
        heads.close()
