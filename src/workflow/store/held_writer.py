"""The kept SQLite write connection: one write connection an engine on its own SQLite file
keeps open for its uncontended writes, begun and committed on the driver.

Separate from :mod:`workflow.store.transactions`, which takes it when it is free, because it is
a connection with a life of its own (opened, kept, dropped when in doubt, closed with the
engine), not a transaction.
"""

from __future__ import annotations

import threading

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool, StaticPool

from workflow.store.database import adopted, writer_of
from workflow.store.driver import KeptCursor


class HeldWriter:
    """One write connection a workflow engine keeps open on its SQLite file, for its own write
    transactions (``Engine.transaction``), instead of taking one from the pool each time.

    Why: a transition's transaction is mostly the engine's own Python work, and an empty
    transaction through SQLAlchemy cost 233,000 instructions (a pool checkout, a ``Connection``,
    a ``RootTransaction``, their events, the check-in) against 15,500 for ``BEGIN IMMEDIATE``
    and ``COMMIT`` on ``sqlite3`` (docs/performance.md, sixth round). SQLite has one writer at a
    time anyway, so one kept connection serves every uncontended write.

    The connection comes from a pool of its own (the engine pool's ``recreate``: the same
    driver set-up), so the engine's pool is as it was: what it counts as checked out is only
    what a call holds. Its SQLAlchemy transaction, begun when it is opened (the ``begin``
    listener runs ``BEGIN IMMEDIATE``), stays open for its life; the write transactions are
    delimited on the driver, where SQLite's transactions are (the driver is in autocommit mode
    and issues no ``BEGIN`` of its own): ``BEGIN IMMEDIATE``, then ``COMMIT`` or ``ROLLBACK``,
    their errors raised as SQLAlchemy's, as the Core path raises them. The ``commit`` and
    ``rollback`` are announced to the engine's listeners as SQLAlchemy announces them (the
    crash harness, ``tests/crashpoints.py``, kills a fire at its commit); the ``begin`` is not:
    the engine's one ``begin`` listener is what runs ``BEGIN IMMEDIATE``, and calling it through
    the event machinery cost half as much again as the whole transaction. Between two
    transactions it is idle: no open transaction, no lock.

    A transaction takes it only when it is free (:meth:`begin` never waits): a second write at
    the same moment (another thread, or a transaction opened inside one) takes a pooled
    connection and waits for SQLite's write lock exactly as before. It is closed by
    :meth:`close` (``Engine.close``, or the engine's finalizer when it is collected unclosed),
    and dropped, to be opened again, whenever a failure leaves it in doubt.
    """

    __slots__ = (
        "__weakref__",
        "_close_on_return",
        "_connection",
        "_cursor",
        "_engine",
        "_lock",
        "_pool",
    )

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._pool: Pool | None = None
        self._connection: Connection | None = None
        self._cursor: KeptCursor | None = None
        self._close_on_return = False

    def begin(self) -> Connection | None:
        """The kept connection in a new write transaction (SQLite's write lock taken), or None
        when another transaction has it; end it with :meth:`end`."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            connection, cursor = self._connection, self._cursor
            # A transaction still open on the driver was left by a failure: in doubt.
            if (
                cursor is None
                or connection is None
                or connection.invalidated
                or cursor.in_transaction
            ):
                self._drop()
                if self._pool is None:
                    self._pool = self._engine.pool.recreate()
                connection = Connection(writer_of(self._engine), self._pool.connect())
                self._connection = connection
                cursor = self._cursor = KeptCursor(connection)
            if connection.in_transaction():
                cursor.run("BEGIN IMMEDIATE")  # what the engine's begin listener would run
            else:  # new, or its transaction was ended through SQLAlchemy: begin it again
                connection.begin()  # the begin listener runs BEGIN IMMEDIATE
        except BaseException:
            self._lock.release()
            raise
        return connection

    def end(self, *, commit: bool) -> None:
        """``COMMIT`` (or ``ROLLBACK``) the transaction :meth:`begin` opened and give the
        connection back. A failed ``COMMIT`` is raised; the connection is then closed (which
        rolls back what is open), as after a failed ``ROLLBACK``, and the next transaction opens
        another."""
        try:
            connection, cursor = self._connection, self._cursor
            assert connection is not None
            assert cursor is not None
            if connection.invalidated:
                self._drop()
            elif cursor.in_transaction:
                try:
                    if commit:  # announced to the engine's listeners, as SQLAlchemy does
                        self._engine.dispatch.commit(connection)
                        cursor.run("COMMIT")
                    else:
                        self._engine.dispatch.rollback(connection)
                        cursor.run("ROLLBACK")
                except BaseException:
                    self._drop()
                    if commit:
                        raise
            if self._close_on_return:
                self._close_on_return = False
                self._drop()
        finally:
            self._lock.release()

    def close(self) -> None:
        """Close the connection now, or when the transaction using it ends."""
        if self._lock.acquire(blocking=False):
            try:
                self._drop()
            finally:
                self._lock.release()
        else:
            self._close_on_return = True

    def _drop(self) -> None:
        connection, self._connection, self._cursor = self._connection, None, None
        pool, self._pool = self._pool, None
        try:
            if connection is not None:
                connection.close()
        finally:
            if pool is not None:
                pool.dispose()


def held_writer(engine: Engine) -> HeldWriter | None:
    """A :class:`HeldWriter` for the engine's own SQLite file; None for PostgreSQL (each
    transaction its own pooled connection, as writers there run side by side), an in-memory
    database (one connection shared by every checkout) or an application's engine (its pool
    is the application's)."""
    if engine.dialect.name != "sqlite" or adopted(engine) or isinstance(engine.pool, StaticPool):
        return None
    return HeldWriter(engine)
