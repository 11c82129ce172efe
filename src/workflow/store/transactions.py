"""Transactions on an engine: read and write transactions, SQLite's write lock held without
writing (``writers_held``), and the database's contention, commit failures and refusals as the
engine's errors.

On SQLite a write transaction takes the write lock up front (``BEGIN IMMEDIATE``), and one that
cannot have it within the busy timeout is :class:`~workflow.ConcurrentModification`; on
PostgreSQL a connection lost during the COMMIT is :class:`~workflow.CommitOutcomeUnknown`. On
an application's engine (:mod:`workflow.store.application`) what our own engine sets on each
new connection is set per transaction instead (:func:`prepare_adopted`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine, RootTransaction
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from workflow.errors import (
    CommitOutcomeUnknown,
    ConcurrentModification,
    DatabaseUnavailable,
    InvalidInput,
    WorkflowError,
)
from workflow.store.database import ADOPTED_OPTION, SCHEMA_OPTION, adopted, writer_of
from workflow.store.driver import driver_execute
from workflow.store.faults import mask_url, typed_fault
from workflow.store.held_writer import HeldWriter


def write_transaction(
    engine: Engine,
    *,
    info: Mapping[str, Any] | None = None,
    refusals: bool = False,
    held: HeldWriter | None = None,
) -> AbstractContextManager[Connection]:
    """One write transaction: commits on success, rolls back on any error.

    On SQLite the transaction takes the write lock up front (``BEGIN IMMEDIATE``); if the lock
    cannot be had within the busy timeout the caller gets :class:`ConcurrentModification`, never
    a raw "database is locked". On PostgreSQL a connection lost during the COMMIT raises
    :class:`CommitOutcomeUnknown`: the write may or may not be there. On an application's
    engine (:func:`adopt_engine`) the same, set up per transaction instead of per connection
    (:func:`prepare_adopted`). ``info`` is set into the connection's ``info`` once it is open;
    ``refusals``: a constraint the database enforced is raised as the engine's error
    (:func:`refusal`) instead of SQLAlchemy's ``IntegrityError``; ``held``: the engine's kept
    connection (:class:`HeldWriter`), used when no other transaction has it.
    """
    return _WriteTransaction(engine, info, refusals, held)


class _WriteTransaction:
    """:func:`write_transaction` as one context manager: every fire opens one, and the four
    nested generator-based managers it replaced (refusals, contention, connection, transaction)
    cost several microseconds of each fire's CPU (docs/performance.md, sixth round)."""

    __slots__ = ("_connection", "_engine", "_held", "_info", "_refusals", "_transaction")

    def __init__(
        self,
        engine: Engine,
        info: Mapping[str, Any] | None,
        refusals: bool,
        held: HeldWriter | None,
    ) -> None:
        self._engine = engine
        self._info = info
        self._refusals = refusals
        self._held = held
        self._transaction: RootTransaction | None = None

    def __enter__(self) -> Connection:
        held, self._held = self._held, None
        try:
            connection = None if held is None else held.begin()
            if connection is None:
                connection = writer_of(self._engine).connect()
            else:
                self._held = held
        except OperationalError as exc:
            raise self._mapped(exc) from exc
        try:
            if self._held is None:
                self._transaction = connection.begin()
                options = connection.get_execution_options()
                if ADOPTED_OPTION in options:
                    prepare_adopted(connection, options, write=True)
            if self._info:
                connection.info.update(self._info)
        except BaseException as exc:
            self._end(connection, commit=False)
            mapped = self._mapped(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        self._connection = connection
        return connection

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> None:
        try:
            self._end(self._connection, commit=exc is None)
        except BaseException as failed:
            if exc is None:  # the commit failed: its error is the one to raise
                exc = failed
        if exc is None:
            return
        mapped = self._mapped(exc)
        if mapped is not exc:
            raise mapped from exc
        if kind is None:
            raise exc

    def _end(self, connection: Connection, *, commit: bool) -> None:
        """Commit (``commit``) or roll back, and let the connection go: the kept one given
        back, a pooled one closed (which rolls back whatever is still open)."""
        if self._held is not None:
            self._held.end(commit=commit)
            return
        try:
            if commit:
                assert self._transaction is not None
                commit_transaction(self._engine, connection, self._transaction)
        finally:
            connection.close()

    def _mapped(self, exc: BaseException) -> BaseException:
        """``exc`` as the caller must see it (itself when nothing maps it)."""
        if isinstance(exc, OperationalError):
            return _operational(self._engine, exc)
        if self._refusals and isinstance(exc, IntegrityError):
            return refusal(exc)
        return exc


def refusal(exc: IntegrityError) -> WorkflowError:
    """A constraint the database enforced, as the engine's error: a unique key raced us (a
    duplicate seq or idempotency key: someone else wrote first, nothing was committed), or
    the input broke a constraint (the driver's first line only: PostgreSQL's DETAIL line
    quotes the row's values)."""
    if getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE" in str(exc.orig):
        return ConcurrentModification(0, None, None)
    why = str(exc.orig).strip().splitlines()[0]
    return InvalidInput(f"refused by the database: {why}")


def commit_transaction(
    engine: Engine, connection: Connection, transaction: RootTransaction
) -> None:
    """Commit; on PostgreSQL a connection lost during the COMMIT is
    :class:`CommitOutcomeUnknown` (the write may or may not be there)."""
    try:
        transaction.commit()
    except (DatabaseUnavailable, DBAPIError) as exc:
        if _outcome_unknown(connection, exc):
            raise CommitOutcomeUnknown(mask_url(engine.url)) from exc
        raise


@contextmanager
def contention(engine: Engine) -> Iterator[None]:
    """A lock that could not be had as :class:`ConcurrentModification`; on an application's
    engine the database's faults typed as our own engine's hook types them."""
    try:
        yield
    except OperationalError as exc:
        raise _operational(engine, exc) from exc


def _operational(engine: Engine, exc: OperationalError) -> BaseException:
    """A database fault as the caller must see it: a lock that could not be had is
    :class:`ConcurrentModification`; on an application's engine the fault typed as our own
    engine's hook types it."""
    if _is_contention(exc.orig):
        return ConcurrentModification(0, None, None)
    return _typed_on_adopted(engine, exc)


def begin_sqlite(connection: Connection, *, write: bool = True) -> None:
    """The driver's transaction begun (with the write lock for a write) if none is open yet,
    so that a SAVEPOINT never begins (and its RELEASE commits) a transaction of its own, a
    read sees one snapshot, and the driver's own ``COMMIT`` ends ours."""
    driver = connection.connection.driver_connection
    if driver is not None and not driver.in_transaction:
        driver_execute(connection, "BEGIN IMMEDIATE" if write else "BEGIN")


# PostgreSQL: the server shut down or crashed (a failover) while the COMMIT was in flight.
_LOST_AT_COMMIT = frozenset({"57P01", "57P02", "57P03"})


def _outcome_unknown(connection: Connection, exc: BaseException) -> bool:
    """Whether a failed COMMIT leaves its outcome unknown: on PostgreSQL, the connection died
    (no answer, a connection error, the server shutting down or crashing) rather than the
    server answering that it rolled back. The COMMIT record may already be on disk, or on a
    synchronous standby that is about to be promoted. SQLite commits in this process: its
    failures are failures."""
    if connection.dialect.name != "postgresql":
        return False
    orig = exc.orig if isinstance(exc, DBAPIError) else exc.__cause__
    state = getattr(orig, "sqlstate", None)
    return (
        connection.invalidated
        or state is None
        or state.startswith("08")
        or state in _LOST_AT_COMMIT
    )


# PostgreSQL: lock_not_available (NOWAIT), serialization_failure, deadlock_detected.
_CONTENTION_STATES = frozenset({"55P03", "40001", "40P01"})


def _is_contention(orig: BaseException | None) -> bool:
    """Whether a driver error means "another writer got there first" (not a broken database)."""
    if getattr(orig, "sqlstate", None) in _CONTENTION_STATES:
        return True
    return "locked" in str(orig) or "busy" in str(orig)


@contextmanager
def read_transaction(engine: Engine, *, snapshot: bool = False) -> Iterator[Connection]:
    """A read-only transaction; with ``snapshot``, every statement in it sees the same snapshot.

    SQLite's transaction is one snapshot anyway; PostgreSQL's default (read committed) gives
    each statement its own, so ``snapshot`` asks for repeatable read there.
    """
    with contention(engine), engine.connect() as connection:
        if snapshot and connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            prepare_adopted(connection, connection.get_execution_options(), write=False)
            yield connection


@contextmanager
def writers_held(engine: Engine) -> Iterator[Callable[[], None] | None]:
    """SQLite: the write lock taken, so no writer commits until the release this yields is
    called (or the block ends): read transactions begun meanwhile, in any process, all see one
    snapshot (several processes verifying one log). Nothing is written: the lock is given back
    by a rollback. None when the lock cannot be had (a read-only file, a writer holding it past
    the busy timeout, an in-memory database) or the database is not SQLite."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        yield None
        return
    with engine.connect() as connection:
        driver: Any = connection.connection.driver_connection
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            yield None
            return
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                driver.execute("ROLLBACK")

        try:
            yield release
        finally:
            release()


def prepare_adopted(
    connection: Connection, options: Mapping[str, Any], *, write: bool
) -> str | None:
    """What our own engine sets on each new connection, set on an application's connection for
    the current transaction only (``options``: the engine's execution options): SQLite's write
    lock taken up front (``BEGIN IMMEDIATE``) when the driver has no transaction open yet, so
    that the driver's own ``COMMIT`` ends ours; PostgreSQL's ``search_path`` set to the
    workflow's schema with ``set_config(..., true)`` (local to the transaction). Returns the
    search path it replaced, or None when it set none."""
    if not options.get(ADOPTED_OPTION):
        return None
    if connection.dialect.name == "sqlite":
        begin_sqlite(connection, write=write)
        return None
    schema = options.get(SCHEMA_OPTION)
    if not schema:
        return None
    previous = connection.exec_driver_sql(
        "SELECT current_setting('search_path'), set_config('search_path', %(schema)s, true)",
        {"schema": schema},
    ).first()
    assert previous is not None
    return str(previous[0])


def _typed_on_adopted(engine: Engine, exc: OperationalError) -> BaseException:
    """On an application's engine (where our ``handle_error`` hook is not installed), the
    database's own faults as the same typed errors; ``exc`` itself otherwise."""
    if not adopted(engine) or exc.orig is None:
        return exc
    typed = typed_fault(
        exc.orig, mask_url(engine.url), connecting=False, disconnect=exc.connection_invalidated
    )
    return exc if typed is None else typed
