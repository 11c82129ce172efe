"""Statements on the driver's own cursor, for the few that run on every call of a hot path.

Through SQLAlchemy Core a statement costs about as much again as the database takes to run it
(docs/performance.md): the chain writer's statements (every transition) and the API token's
read (every API request) run here instead, on the DBAPI cursor of the Core connection's own
transaction, their errors raised as SQLAlchemy's exception classes (one family of errors
whichever path a statement took) and the database's own faults typed as the engine's hook
types them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, StatementError

from workflow.store.faults import mask_url, typed_fault


class DriverCursor:
    """The driver's cursor on ``conn``'s connection, its errors raised as SQLAlchemy's."""

    __slots__ = ("_conn", "_dbapi_connection", "cursor")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        # The driver's own connection: on the synchronous drivers this runs on (pysqlite,
        # psycopg) dbapi_connection is driver_connection, read without its three properties.
        self._dbapi_connection = conn.connection.dbapi_connection
        assert self._dbapi_connection is not None
        self.cursor = self._dbapi_connection.cursor()

    def __enter__(self) -> DriverCursor:
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

    def _wrapped(self, statement: str, exc: Any) -> Exception:
        dialect = self._conn.dialect
        gone = dialect.is_disconnect(exc, self._dbapi_connection, self.cursor)
        if gone:
            # As Core does: a connection the server dropped never goes back to the pool.
            self._conn.invalidate(exc)
        # As the engine's handle_error hook does: the database's own faults become typed.
        typed = typed_fault(exc, mask_url(self._conn.engine.url), connecting=False, disconnect=gone)
        if typed is not None:
            return typed
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
    with DriverCursor(conn) as cursor:
        cursor.execute(statement, ())


class KeptCursor:
    """A driver cursor kept open on one connection by its owner (``database.HeldWriter``, for
    its ``BEGIN IMMEDIATE``, ``COMMIT`` and ``ROLLBACK``), its errors raised as SQLAlchemy's."""

    __slots__ = ("_cursor", "_driver")

    def __init__(self, conn: Connection) -> None:
        self._cursor = DriverCursor(conn)
        self._driver: Any = self._cursor._dbapi_connection

    @property
    def in_transaction(self) -> bool:
        """Whether the driver has a transaction open on the connection."""
        return bool(self._driver.in_transaction)

    def run(self, statement: str) -> None:
        """Run one parameterless statement."""
        self._cursor.execute(statement, ())
