"""A transition's own reads and writes through the driver's cursor, with SQL prebuilt per dialect.

Every transition reads its instance, then writes the instance, its audit event, its outbox row
and (when it leaves a state) the cancellation of that state's timers. Through SQLAlchemy Core
each of those statements cost about as much again as the database took to run it (see
docs/performance.md), so they run here on the DBAPI cursor of the Core connection's own
transaction: values are converted the way the column types convert them, and driver errors are
raised as SQLAlchemy's exception classes, so callers handle one family of errors whichever path
a statement took. On PostgreSQL the writes are one statement (data-modifying CTEs), one round
trip instead of four.

Everything else (rare paths, reports, administration) stays on Core in ``repository``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, StatementError

from workflow.clock import require_aware
from workflow.store.tables import audit_events, instances
from workflow.store.types import UTCDateTime, as_utc

INSTANCE_COLUMNS = tuple(c.name for c in instances.c)
AUDIT_COLUMNS = tuple(c.name for c in audit_events.c if c.name != "id")
_JSON_COLUMNS = frozenset({"data", "coordinating_units"})
_TIME_COLUMNS = frozenset({"due_at", "created_at", "updated_at"})
_OUTBOX_COLUMNS = ("audit_id", "instance_id", "topic", "status", "attempts", "next_attempt_at",
                   "created_at")  # fmt: skip


@dataclass(frozen=True)
class TransitionWrite:
    """Everything one transition writes besides new timers: the instance's new values (applied
    only if it is still at ``seen_version``), its audit row, its outbox topic."""

    instance_id: int
    seen_version: int
    state: str
    data_json: str
    """The instance's new data as stored (:func:`to_json`)."""
    active: bool
    due_at: datetime | None
    now: datetime
    audit: Mapping[str, Any]
    topic: str
    leaving_state: bool
    """Whether the instance leaves its state, which cancels that state's pending timers."""


def to_json(value: Any) -> str:
    """How JSON columns are stored (the engine's json_serializer): compact, text kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _sqlite_time(moment: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DateTime stores: naive UTC, microseconds always written."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = require_aware(moment)
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return as_utc(value)


def _instance(values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(INSTANCE_COLUMNS, values, strict=True))
    for name in _JSON_COLUMNS:
        text = row[name]
        if isinstance(text, str):
            row[name] = [] if text == "[]" else json.loads(text)
    for name in _TIME_COLUMNS:
        row[name] = _aware(row[name])
    row["active"] = bool(row["active"])
    return row


def _columns(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _select_instance(lock: str, placeholder: str) -> str:
    return f"SELECT {_columns(INSTANCE_COLUMNS)} FROM instances WHERE id = {placeholder}{lock}"  # noqa: S608 - our column names


_SQLITE_SELECT = _select_instance("", "?")
_SQLITE_UPDATE = (
    "UPDATE instances SET state = ?, data = ?, version = ?, active = ?, due_at = ?,"
    " updated_at = ?, last_hash = ? WHERE id = ? AND version = ?"
)
_SQLITE_AUDIT = (
    f"INSERT INTO audit_events ({_columns(AUDIT_COLUMNS)})"  # noqa: S608 - our column names
    f" VALUES ({', '.join('?' for _ in AUDIT_COLUMNS)})"
)
_CANCEL_SET = (
    "SET status = 'cancelled', fired_at = NULL, last_error = NULL, lease_expires_at = NULL"
)
_SQLITE_CANCEL = (
    f"UPDATE timers {_CANCEL_SET} WHERE instance_id = ? AND status IN ('pending', 'claimed')"
)
_SQLITE_OUTBOX = (
    f"INSERT INTO outbox ({_columns(_OUTBOX_COLUMNS)})"  # noqa: S608 - our column names
    " VALUES (?, ?, ?, 'pending', 0, ?, ?)"
)


def _typed(table: Table, names: Sequence[str], dialect: Dialect) -> str:
    """``CAST(%(a_name)s AS type)`` for each column: a parameter in a SELECT list has no type
    of its own, and PostgreSQL must not have to guess one (for a NULL, say)."""
    return ", ".join(
        f"CAST(%(a_{n})s AS {table.c[n].type.compile(dialect=dialect)})" for n in names
    )


_POSTGRES_SELECT = _select_instance(" FOR UPDATE", "%(instance_id)s")
_POSTGRES_SELECT_NOWAIT = _select_instance(" FOR UPDATE NOWAIT", "%(instance_id)s")


@cache
def _postgres_write_sql(dialect: Dialect) -> str:
    """One round trip: the update is the version check and the other writes hang off its
    RETURNING, so if the instance moved meanwhile nothing at all is written."""
    return f"""
WITH moved AS (
    UPDATE instances SET state = %(state)s, data = CAST(%(data)s AS json), version = %(seq)s,
        active = %(active)s, due_at = %(due_at)s, updated_at = %(now)s, last_hash = %(hash)s
    WHERE id = %(instance_id)s AND version = %(seen_version)s
    RETURNING id
), cancelled AS (
    UPDATE timers {_CANCEL_SET}
    WHERE %(leaving)s AND instance_id IN (SELECT id FROM moved)
        AND status IN ('pending', 'claimed')
), event AS (
    INSERT INTO audit_events ({_columns(AUDIT_COLUMNS)})
    SELECT {_typed(audit_events, AUDIT_COLUMNS, dialect)} FROM moved
    RETURNING id
), published AS (
    INSERT INTO outbox ({_columns(_OUTBOX_COLUMNS)})
    SELECT event.id, %(instance_id)s, %(topic)s, 'pending', 0, %(now)s, %(now)s FROM event
)
SELECT id FROM event
"""  # noqa: S608 - our column names; every value is a bound parameter


class _DriverCursor:
    """The driver's cursor on ``conn``'s connection, its errors raised as SQLAlchemy's."""

    __slots__ = ("_conn", "_dbapi_connection", "cursor")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._dbapi_connection = conn.connection.driver_connection
        assert self._dbapi_connection is not None
        self.cursor = self._dbapi_connection.cursor()

    def __enter__(self) -> _DriverCursor:
        return self

    def __exit__(self, *_exc: object) -> None:
        if not self._conn.invalidated:
            self.cursor.close()

    def execute(self, statement: str, params: Any) -> Any:
        try:
            self.cursor.execute(statement, params)
        except self._conn.dialect.loaded_dbapi.Error as exc:
            raise self._wrapped(statement, exc) from exc
        return self.cursor

    def executemany(self, statement: str, params: Sequence[Any]) -> None:
        try:
            self.cursor.executemany(statement, params)
        except self._conn.dialect.loaded_dbapi.Error as exc:
            raise self._wrapped(statement, exc) from exc

    def _wrapped(self, statement: str, exc: Any) -> StatementError:
        dialect = self._conn.dialect
        gone = dialect.is_disconnect(exc, self._dbapi_connection, self.cursor)
        if gone:
            # As Core does: a connection the server dropped never goes back to the pool.
            self._conn.invalidate(exc)
        wrapped: StatementError = DBAPIError.instance(
            statement,
            None,
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=gone,
            dialect=dialect,
        )
        return wrapped


def driver_execute(conn: Connection, statement: str) -> None:
    """Run one parameterless statement (``BEGIN IMMEDIATE``) on the driver's cursor."""
    with _DriverCursor(conn) as cursor:
        cursor.execute(statement, ())


def instance_for_update(
    conn: Connection, instance_id: int, *, nowait: bool = False
) -> dict[str, Any] | None:
    """The instance row as a dict of column values, locked until commit.

    PostgreSQL locks the row (``FOR UPDATE``; with ``nowait`` a row another transaction is
    changing raises lock_not_available at once); SQLite's write transaction already holds the
    database's write lock.
    """
    if conn.dialect.name == "postgresql":
        statement = _POSTGRES_SELECT_NOWAIT if nowait else _POSTGRES_SELECT
        params: Any = {"instance_id": instance_id}
    else:
        statement, params = _SQLITE_SELECT, (instance_id,)
    with _DriverCursor(conn) as cursor:
        values = cursor.execute(statement, params).fetchone()
    return None if values is None else _instance(values)


def write_transition(conn: Connection, change: TransitionWrite) -> int | None:
    """Apply ``change``: the audit row's id, or None (nothing written) if the instance moved."""
    if conn.dialect.name == "postgresql":
        return _postgres_write(conn, change)
    return _sqlite_write(conn, change)


def _postgres_write(conn: Connection, change: TransitionWrite) -> int | None:
    params = {f"a_{name}": change.audit[name] for name in AUDIT_COLUMNS}
    params.update(
        instance_id=change.instance_id,
        seen_version=change.seen_version,
        state=change.state,
        data=change.data_json,
        seq=change.audit["seq"],
        active=change.active,
        due_at=change.due_at,
        now=change.now,
        hash=change.audit["hash"],
        leaving=change.leaving_state,
        topic=change.topic,
    )
    with _DriverCursor(conn) as cursor:
        written = cursor.execute(_postgres_write_sql(conn.dialect), params).fetchone()
    return None if written is None else int(written[0])


def _sqlite_write(conn: Connection, change: TransitionWrite) -> int | None:
    audit, now = change.audit, _sqlite_time(change.now)
    occurred = _sqlite_time(audit["occurred_at"])
    with _DriverCursor(conn) as cursor:
        moved = cursor.execute(
            _SQLITE_UPDATE,
            (
                change.state,
                change.data_json,
                audit["seq"],
                change.active,
                _sqlite_time(change.due_at),
                now,
                audit["hash"],
                change.instance_id,
                change.seen_version,
            ),
        )
        if moved.rowcount != 1:
            return None
        inserted = cursor.execute(
            _SQLITE_AUDIT,
            [occurred if n == "occurred_at" else audit[n] for n in AUDIT_COLUMNS],
        )
        audit_id = int(inserted.lastrowid)
        if change.leaving_state:
            cursor.execute(_SQLITE_CANCEL, (change.instance_id,))
        cursor.execute(_SQLITE_OUTBOX, (audit_id, change.instance_id, change.topic, now, now))
    return audit_id


# --- batches: many rows of one table in one executemany ------------------------------------------

Converter = Callable[[Any], Any] | None


def _postgres_time(moment: datetime | None) -> datetime | None:
    return None if moment is None else require_aware(moment)


def _json_or_none(value: Any) -> str | None:
    return None if value is None else to_json(value)


@cache
def _insert_plan(dialect: str, table: Table, names: tuple[str, ...]) -> tuple[str, list[Converter]]:
    """The INSERT of ``names`` into ``table`` for ``dialect``, and each value's conversion as
    its column type would do it."""
    marks: list[str] = []
    converters: list[Converter] = []
    for name in names:
        column_type = table.c[name].type
        mark = "?" if dialect == "sqlite" else "%s"
        if isinstance(column_type, UTCDateTime):
            converters.append(_sqlite_time if dialect == "sqlite" else _postgres_time)
        elif isinstance(column_type, JSON):
            converters.append(_json_or_none)
            mark = mark if dialect == "sqlite" else "CAST(%s AS json)"
        else:
            converters.append(None)
        marks.append(mark)
    statement = f"INSERT INTO {table.name} ({_columns(names)}) VALUES ({', '.join(marks)})"  # noqa: S608 - our names
    return statement, converters


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys, ids included if wanted) in one executemany."""
    if not rows:
        return
    names = tuple(rows[0])
    statement, converters = _insert_plan(conn.dialect.name, table, names)
    plan = tuple(zip(names, converters, strict=True))
    params = [
        tuple(row[name] if convert is None else convert(row[name]) for name, convert in plan)
        for row in rows
    ]
    with _DriverCursor(conn) as cursor:
        cursor.executemany(statement, params)
