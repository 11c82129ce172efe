"""The one writer of the chains: instance rows, their audit events, timers and outbox rows.

Every change to an instance goes through here, whoever makes it: a fire or a timer's fire
(:func:`write_step`), a start, a batched start or a spawned child (:func:`write_starts`, a
single start being a batch of one), a migration to another version (:func:`write_step` again,
pinning the new version), an administrator's event (:func:`append_admin_event`, chain 0). A
rule about these rows (what an audit row holds, when timers are cancelled, what an outbox row
starts as) is therefore written once, and so is the SQL for each dialect.

The rows arrive sealed (``workflow.hashchain.sealing.seal`` computes an audit row's hash beside
the chain code); the writer stores them and keeps the instance's ``last_hash`` and ``version``
in step.

Why the driver's cursor (``store.driver``): through SQLAlchemy Core each statement cost about as
much again as the database took to run it (docs/performance.md), and a transition runs these on
every call. So they run on the DBAPI cursor of the Core connection's own transaction, values
converted the way the column types convert them. On PostgreSQL a step is one statement
(data-modifying CTEs): one round trip instead of four. ``tests/test_chain_writer.py`` holds the
rows read and written here equal to what Core reads and writes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import JSON, Table, select
from sqlalchemy.engine import Connection, Dialect

from workflow.clock import require_aware
from workflow.hashchain.admin_log import admin_record
from workflow.hashchain.encoding import GENESIS
from workflow.hashchain.keys import keys_of
from workflow.store.driver import DriverCursor
from workflow.store.mapping import read_json
from workflow.store.tables import admin_events, audit_events, instances, outbox, timers
from workflow.store.types import UTCDateTime, aware

INSTANCE_COLUMNS = tuple(c.name for c in instances.c)
AUDIT_COLUMNS = tuple(c.name for c in audit_events.c if c.name != "id")
_JSON_COLUMNS = frozenset({"data", "coordinating_units"})
_TIME_COLUMNS = frozenset({"due_at", "created_at", "updated_at"})
_OUTBOX_COLUMNS = ("audit_id", "instance_id", "topic", "status", "attempts", "next_attempt_at",
                   "created_at")  # fmt: skip
LIVE_TIMER_STATUSES = ("pending", "leased")
"""A timer in one of these may still fire; leaving its state cancels it."""


class Step(NamedTuple):
    """One link added to an instance's chain: its new values (applied only if it is still at
    ``seen_version``), the sealed audit row, the outbox topic and, when it (re-)enters a state,
    the new state's timers (the old state's are cancelled). A named tuple: one is built for
    every fire, and a frozen dataclass's ``__init__`` cost three times as much."""

    instance_id: int
    seen_version: int
    definition_version: int
    state: str
    data_json: str
    """The instance's new data as stored (:func:`to_json`)."""
    active: bool
    due_at: datetime | None
    now: datetime
    audit: Mapping[str, Any]
    topic: str
    enters_state: bool
    """Whether the instance leaves its state (or re-enters it), which cancels that state's live
    timers; a self-transition stays in the state and keeps them."""
    timers: Sequence[Mapping[str, Any]] = ()
    timers_live: bool = True
    """False when the read that locked the instance found it without live timers (nothing to
    cancel); True when it had some or was not asked."""


@dataclass(frozen=True)
class Start:
    """A new instance: its row (id from :func:`reserve_ids`, ``last_hash`` its event's hash),
    its sealed audit event 1, its initial state's timers and its outbox topic."""

    instance: Mapping[str, Any]
    audit: Mapping[str, Any]
    topic: str
    timers: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def to_json(value: Any) -> str:
    """How JSON columns are stored (the engine's json_serializer): compact, text kept as is,
    keys sorted; so an instance's data is stored as the text its audit row hashes
    (``hashchain.encoding.canonical_json``), and a step reuses that text instead of encoding
    twice."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# --- the statements ------------------------------------------------------------------------------


def _columns(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _select_instance(lock: str, placeholder: str) -> str:
    return f"SELECT {_columns(INSTANCE_COLUMNS)} FROM instances WHERE id = {placeholder}{lock}"  # noqa: S608 - our column names


_LIVE_TIMERS = " OR ".join(
    f"EXISTS (SELECT 1 FROM timers t WHERE t.instance_id = instances.id AND t.status = '{status}')"  # noqa: S608 - our status names
    for status in LIVE_TIMER_STATUSES
)
_SQLITE_SELECT = f"SELECT {_columns(INSTANCE_COLUMNS)}, {_LIVE_TIMERS} FROM instances WHERE id = ?"  # noqa: S608 - our column names
"""The instance row, and whether it has live timers: a step that leaves the state cancels them
only if so. One equality test per status (an ``IN`` list builds a temporary index on every
execution): 12,000 instructions, where the cancelling ``UPDATE`` that found nothing cost 59,000
on every change of state (docs/performance.md, sixth round)."""
_SQLITE_UPDATE = (
    "UPDATE instances SET definition_version = ?, state = ?, data = ?, version = ?, active = ?,"
    " due_at = ?, updated_at = ?, last_hash = ? WHERE id = ? AND version = ?"
)
_SQLITE_AUDIT = (
    f"INSERT INTO audit_events ({_columns(AUDIT_COLUMNS)})"  # noqa: S608 - our column names
    f" VALUES ({', '.join('?' for _ in AUDIT_COLUMNS)})"
)
_LIVE = f"status IN ({', '.join(repr(s) for s in LIVE_TIMER_STATUSES)})"
_CANCEL_SET = (
    "SET status = 'cancelled', fired_at = NULL, last_error = NULL, lease_expires_at = NULL"
)
_SQLITE_CANCEL = f"UPDATE timers {_CANCEL_SET} WHERE instance_id = ? AND {_LIVE}"
_SQLITE_OUTBOX = (
    f"INSERT INTO outbox ({_columns(_OUTBOX_COLUMNS)})"  # noqa: S608 - our column names
    " VALUES (?, ?, ?, 'pending', 0, ?, ?)"
)
_FIRED_SET = "SET status = 'fired', fired_at = {mark}, lease_expires_at = NULL"
_FIRE_TIMER = {
    dialect: f"UPDATE timers {_FIRED_SET.format(mark=mark)} WHERE id = {mark} AND {_LIVE}"
    for dialect, mark in (("sqlite", "?"), ("postgresql", "%s"))
}
_RESERVE_IDS = {
    # SQLite: the next rowids, which is what SQLite would choose (no AUTOINCREMENT), and safe
    # because the write transaction holds the database's write lock.
    "sqlite": "SELECT (SELECT coalesce(max(id), 0) FROM instances),"
    " (SELECT coalesce(max(id), 0) FROM audit_events)",
    "postgresql": "SELECT nextval(pg_get_serial_sequence('instances', 'id')),"
    " nextval(pg_get_serial_sequence('audit_events', 'id')) FROM generate_series(1, %s)",
}


def _typed(table: Table, names: Sequence[str], dialect: Dialect) -> str:
    """``CAST(%(a_name)s AS type)`` for each column: a parameter in a SELECT list has no type
    of its own, and PostgreSQL must not have to guess one (for a NULL, say)."""
    return ", ".join(
        f"CAST(%(a_{n})s AS {table.c[n].type.compile(dialect=dialect)})" for n in names
    )


_POSTGRES_SELECT = _select_instance(" FOR UPDATE", "%(instance_id)s")
_POSTGRES_SELECT_NOWAIT = _select_instance(" FOR UPDATE NOWAIT", "%(instance_id)s")


@cache
def _postgres_step_sql(dialect: Dialect) -> str:
    """One round trip: the update is the version check and the other writes hang off its
    RETURNING, so if the instance moved meanwhile nothing at all is written."""
    return f"""
WITH moved AS (
    UPDATE instances SET definition_version = %(definition_version)s, state = %(state)s,
        data = CAST(%(data)s AS json), version = %(seq)s, active = %(active)s,
        due_at = %(due_at)s, updated_at = %(now)s, last_hash = %(hash)s
    WHERE id = %(instance_id)s AND version = %(seen_version)s
    RETURNING id
), cancelled AS (
    UPDATE timers {_CANCEL_SET}
    WHERE %(leaving)s AND instance_id IN (SELECT id FROM moved) AND {_LIVE}
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


# --- conversions as the column types do them -----------------------------------------------------


def _sqlite_time(moment: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DateTime stores: naive UTC, microseconds always written."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = require_aware(moment)
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def _postgres_time(moment: datetime | None) -> datetime | None:
    return None if moment is None else require_aware(moment)


def _json_or_none(value: Any) -> str | None:
    return None if value is None else to_json(value)


def _instance(values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(INSTANCE_COLUMNS, values, strict=True))
    for name in _JSON_COLUMNS:
        text = row[name]
        if isinstance(text, str):
            row[name] = [] if text == "[]" else read_json(text)
    for name in _TIME_COLUMNS:
        row[name] = aware(row[name])
    row["active"] = bool(row["active"])
    return row


# --- a step on an existing chain -----------------------------------------------------------------


class Locked(NamedTuple):
    """An instance row read for a step, and whether it has live timers."""

    row: dict[str, Any]
    """The instance's columns, as Core reads them."""
    timers_live: bool
    """Whether any of its timers may still fire (SQLite; PostgreSQL's step cancels them in
    its one statement, so there it is always True)."""


def read_for_update(conn: Connection, instance_id: int, *, nowait: bool = False) -> Locked | None:
    """The instance row as a dict of column values, locked until commit.

    PostgreSQL locks the row (``FOR UPDATE``; with ``nowait`` a row another transaction is
    changing raises lock_not_available at once); SQLite's write transaction already holds the
    database's write lock, so no timer of the instance can change before the step is written.
    """
    if conn.dialect.name == "postgresql":
        statement = _POSTGRES_SELECT_NOWAIT if nowait else _POSTGRES_SELECT
        with DriverCursor(conn) as cursor:
            values = cursor.execute(statement, {"instance_id": instance_id}).fetchone()
        return None if values is None else Locked(_instance(values), True)
    with DriverCursor(conn) as cursor:
        values = cursor.execute(_SQLITE_SELECT, (instance_id,)).fetchone()
    return None if values is None else Locked(_instance(values[:-1]), bool(values[-1]))


def write_step(conn: Connection, step: Step) -> int | None:
    """Write ``step``: the audit row's id, or None (nothing written) if the instance moved."""
    if conn.dialect.name == "postgresql":
        audit_id = _postgres_step(conn, step)
    else:
        audit_id = _sqlite_step(conn, step)
    if audit_id is not None and step.timers:
        _insert_rows(conn, timers, step.timers)
    return audit_id


def _postgres_step(conn: Connection, step: Step) -> int | None:
    params = {f"a_{name}": step.audit[name] for name in AUDIT_COLUMNS}
    params.update(
        instance_id=step.instance_id,
        seen_version=step.seen_version,
        definition_version=step.definition_version,
        state=step.state,
        data=step.data_json,
        seq=step.audit["seq"],
        active=step.active,
        due_at=step.due_at,
        now=step.now,
        hash=step.audit["hash"],
        leaving=step.enters_state,
        topic=step.topic,
    )
    with DriverCursor(conn) as cursor:
        written = cursor.execute(_postgres_step_sql(conn.dialect), params).fetchone()
    return None if written is None else int(written[0])


_AUDIT_VALUES = itemgetter(*AUDIT_COLUMNS)
_OCCURRED_AT = AUDIT_COLUMNS.index("occurred_at")


def _sqlite_step(conn: Connection, step: Step) -> int | None:
    audit, now = step.audit, _sqlite_time(step.now)
    audit_values = list(_AUDIT_VALUES(audit))
    occurred = audit_values[_OCCURRED_AT]
    audit_values[_OCCURRED_AT] = now if occurred is step.now else _sqlite_time(occurred)
    with DriverCursor(conn) as cursor:
        moved = cursor.execute(
            _SQLITE_UPDATE,
            (
                step.definition_version,
                step.state,
                step.data_json,
                audit["seq"],
                step.active,
                _sqlite_time(step.due_at),
                now,
                audit["hash"],
                step.instance_id,
                step.seen_version,
            ),
        )
        if moved.rowcount != 1:
            return None
        inserted = cursor.execute(_SQLITE_AUDIT, audit_values)
        audit_id = int(inserted.lastrowid)
        if step.enters_state and step.timers_live:
            cursor.execute(_SQLITE_CANCEL, (step.instance_id,))
        cursor.execute(_SQLITE_OUTBOX, (audit_id, step.instance_id, step.topic, now, now))
    return audit_id


def mark_timer_fired(conn: Connection, timer_id: int, now: datetime) -> bool:
    """Mark a live timer fired, in the transaction of the step it fires: False when it is no
    longer live (fired, or cancelled by a transition that got there first)."""
    dialect = conn.dialect.name
    moment = _sqlite_time(now) if dialect == "sqlite" else now
    with DriverCursor(conn) as cursor:
        return int(cursor.execute(_FIRE_TIMER[dialect], (moment, timer_id)).rowcount) == 1


# --- new chains ----------------------------------------------------------------------------------


def reserve_ids(conn: Connection, count: int) -> list[tuple[int, int]]:
    """``count`` fresh (instance id, audit event id) pairs, ascending, for :func:`write_starts`.

    A batch with ``RETURNING`` in parameter order runs row by row (the tables have no sentinel
    column), so a start takes its ids first: every row (an instance with its chain's first hash,
    its audit event, timers, outbox row) is then complete when written, one statement a table.
    """
    dialect = conn.dialect.name
    with DriverCursor(conn) as cursor:
        if dialect == "postgresql":
            pairs = cursor.execute(_RESERVE_IDS[dialect], (count,)).fetchall()
            instance_ids = sorted(int(p[0]) for p in pairs)
            audit_ids = sorted(int(p[1]) for p in pairs)
            return list(zip(instance_ids, audit_ids, strict=True))
        top_instance, top_audit = cursor.execute(_RESERVE_IDS[dialect], ()).fetchone()
    return [(int(top_instance) + n, int(top_audit) + n) for n in range(1, count + 1)]


def write_starts(conn: Connection, starts: Sequence[Start]) -> None:
    """Write new instances with their first audit event, timers and outbox row, each table's
    rows in one batch. Ids come from :func:`reserve_ids`, in the rows."""
    if not starts:
        return
    _insert_rows(conn, instances, [s.instance for s in starts])
    _insert_rows(conn, audit_events, [s.audit for s in starts])
    _insert_rows(conn, timers, [t for s in starts for t in s.timers])
    _insert_rows(
        conn,
        outbox,
        [
            {
                "audit_id": s.audit["id"],
                "instance_id": s.instance["id"],
                "topic": s.topic,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": s.instance["created_at"],
                "created_at": s.instance["created_at"],
            }
            for s in starts
        ],
    )


# --- the administrators' chain -------------------------------------------------------------------

_LAST_ADMIN_EVENT = (
    select(admin_events.c.seq, admin_events.c.hash).order_by(admin_events.c.seq.desc()).limit(1)
)


@cache
def os_user() -> str:
    """The effective operating-system account of this process, from the system's account
    database (not from ``$USER``, which anyone can set): ``name (uid N)``."""
    try:
        import pwd  # noqa: PLC0415 - POSIX only: Windows has no account database module

        uid = os.geteuid()
    except (ImportError, AttributeError):  # no POSIX accounts (Windows)
        import getpass  # noqa: PLC0415 - the fallback where pwd is missing

        return getpass.getuser()
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:  # a uid with no account entry (containers)
        return f"uid {uid}"


def append_admin_event(
    conn: Connection,
    action: str,
    subject: str,
    actor: str,
    detail: Mapping[str, Any],
    now: datetime,
) -> None:
    """Append to the administrators' hash chain (deployments, actors, retirements), chain 0.

    Beside ``actor`` (what the caller says, ``--by`` in the CLI, never checked), the detail
    records ``os_user``: the operating-system account of the process that wrote the row.
    """
    detail = {**detail, "os_user": os_user()}
    last = conn.execute(_LAST_ADMIN_EVENT).first()
    seq, prev = (1, GENESIS) if last is None else (int(last.seq) + 1, str(last.hash))
    row = admin_record(
        seq=seq,
        action=action,
        subject=subject,
        actor=actor,
        detail=detail,
        occurred_at=now,
        prev_hash=prev,
        keys=keys_of(conn),
    )
    _insert_rows(conn, admin_events, [row])


# --- batches: many rows of one table in one executemany ------------------------------------------

Converter = Callable[[Any], Any] | None


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


def _insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
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
    with DriverCursor(conn) as cursor:
        cursor.executemany(statement, params)
