"""The statements of a whole-database copy: every table, row for row, keys included.

Not a writer of chains: the rows are copied verbatim (hashes byte for byte) from a source that
``chain_writer`` wrote, into an empty target, as ``workflow db copy`` asks.
"""

from __future__ import annotations

from sqlalchemy import Table, func, insert, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url

from workflow.errors import InvalidInput
from workflow.store.tables import metadata


def display_url(db: Engine) -> str:
    """The database's URL with its password hidden."""
    return str(make_url(str(db.url)).render_as_string(hide_password=True))


def has_no_tables(db: Engine) -> bool:
    return not inspect(db).get_table_names()


def refuse_rows(conn: Connection) -> None:
    """Raise :class:`~workflow.InvalidInput` if any table of the schema holds a row."""
    for table in metadata.sorted_tables:
        if conn.execute(select(func.count()).select_from(table)).scalar_one():
            raise InvalidInput(
                f"the target database is not empty (table {table.name} has rows): "
                "copy only into a new, empty database"
            )


def copy_tables(reading: Connection, writing: Connection, batch: int) -> dict[str, int]:
    """Copy every table of the schema, parents first; the count of rows per table."""
    copied = {
        table.name: _copy_table(reading, writing, table, batch) for table in metadata.sorted_tables
    }
    _advance_sequences(writing)
    return copied


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
