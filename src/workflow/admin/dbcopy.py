"""Copying a whole database into an empty one (``workflow db copy --to URL``).

The way to move from SQLite to PostgreSQL (or back): every table the schema has — definitions,
workflows, instances, the audit log, timers, outbox, actors, units, directives, administrators'
events, and any table a later migration adds — is copied row for row, keys included, from one
consistent snapshot of the source into one transaction on the target. The audit rows keep their
hashes byte for byte, so the target's chains verify exactly as the source's did; the copy
verifies them before it reports success.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, func, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.engine.url import make_url

from workflow.engine import Engine
from workflow.errors import InvalidInput, SchemaOutOfDate
from workflow.hashchain import VerificationReport
from workflow.logs import get_logger
from workflow.store import migrate
from workflow.store.database import DatabaseOptions
from workflow.store.tables import metadata

log = get_logger("workflow.dbcopy")

DEFAULT_BATCH = 1000


@dataclass(frozen=True)
class CopyReport:
    """What :func:`copy_database` copied, and the verification of the target's audit chains."""

    source: str
    target: str
    rows: Mapping[str, int] = field(default_factory=dict)
    verification: VerificationReport = field(default_factory=VerificationReport)

    @property
    def ok(self) -> bool:
        return self.verification.ok


def copy_database(
    source: Engine,
    target_url: str,
    *,
    options: DatabaseOptions | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> CopyReport:
    """Copy every row of ``source`` into the empty database at ``target_url``, then verify it.

    A target with no tables at all is first migrated to the schema this code needs (this is an
    explicit administrative command, so creating the schema is what the caller asked for); a
    target behind the code raises :class:`~workflow.SchemaOutOfDate`; a target holding any row
    raises :class:`~workflow.InvalidInput` and is left untouched. The copy is one transaction:
    on any error the target keeps no row. Returns the row count per table and the target's
    :class:`~workflow.VerificationReport`, which the caller must check (``report.ok``).
    """
    if batch_size < 1:
        raise InvalidInput("batch_size must be at least 1")
    with Engine(
        target_url,
        clock=source.clock,
        registry=source.registry,
        options=options,
        check_schema=False,
    ) as target:
        if target.db.url == source.db.url:
            raise InvalidInput("the target database is the source database")
        _prepare(target)
        with _snapshot(source.db) as reading, target.transaction() as writing:
            _refuse_rows(writing)
            rows = {
                table.name: _copy_table(reading, writing, table, batch_size)
                for table in metadata.sorted_tables
            }
            _advance_sequences(writing)
        verification = target.verify()
        report = CopyReport(_display(source.db.url), _display(target.db.url), rows, verification)
    log.info(
        "database.copied",
        target=report.target,
        rows=sum(rows.values()),
        chains=verification.chains,
        ok=report.ok,
    )
    return report


def _display(url: Any) -> str:
    return str(make_url(str(url)).render_as_string(hide_password=True))


def _prepare(target: Engine) -> None:
    """An empty target gets the schema; anything else must already be at head."""
    current, head = target.schema_revision()
    if current == head:
        return
    if current is None and not inspect(target.db).get_table_names():
        migrate.upgrade(target.db)
        return
    raise SchemaOutOfDate(current, head)


@contextmanager
def _snapshot(db: SAEngine) -> Iterator[Connection]:
    """One read transaction over the whole source: every table is read at the same moment.

    PostgreSQL needs REPEATABLE READ for that (its default gives each statement a new
    snapshot); SQLite's read transaction already is one snapshot.
    """
    with db.connect() as conn:
        if db.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin() as transaction:
            yield conn
            transaction.rollback()  # read-only: nothing to keep


def _refuse_rows(conn: Connection) -> None:
    for table in metadata.sorted_tables:
        if conn.execute(select(func.count()).select_from(table)).scalar_one():
            raise InvalidInput(
                f"the target database is not empty (table {table.name} has rows): "
                "copy only into a new, empty database"
            )


def _copy_table(reading: Connection, writing: Connection, table: Table, batch: int) -> int:
    # Primary-key order puts parents before children where a table refers to itself.
    query = select(table).order_by(*table.primary_key.columns)
    result = reading.execution_options(yield_per=batch).execute(query)
    copied = 0
    for chunk in result.partitions():
        writing.execute(insert(table), [dict(row._mapping) for row in chunk])
        copied += len(chunk)
    return copied


def _advance_sequences(conn: Connection) -> None:
    """Rows came with their ids: move PostgreSQL's id sequences past them."""
    if conn.dialect.name != "postgresql":
        return  # SQLite's rowid ids follow the largest id present
    for table in metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        highest = select(func.max(column)).scalar_subquery()
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        conn.execute(select(func.setval(sequence, highest)).where(highest.is_not(None)))
