"""Connections: one SQLAlchemy engine per database URL, set up for safe concurrent writes.

SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for write transactions (so
two writers queue instead of failing half-way); a new SQLite file is created with mode 0600, only
when the caller allows it (``create``); a file on a read-only file system, or one this process
may not write, is opened read-only (``mode=ro``, or ``immutable=1`` on read-only media).
PostgreSQL gets pre-ping, a statement timeout, an idle-in-transaction timeout, an
``application_name`` and an optional schema (``search_path``), so several tenants or test runs
can share one server.

Whatever goes wrong with the database itself (not a database, unreachable, read-only, full, a
URL option the driver refuses, a statement timeout) reaches the caller as a typed error
(:class:`~workflow.DatabaseUnavailable`, :class:`~workflow.DatabaseBusy`) of one line, with the
URL's password masked; statement parameters are never part of an error (``hide_parameters``).
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote
from weakref import WeakKeyDictionary

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, ExceptionContext, RootTransaction, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import Pool, StaticPool

from workflow.errors import (
    CommitOutcomeUnknown,
    ConcurrentModification,
    DatabaseMissing,
    DatabaseUnavailable,
    InvalidInput,
    WorkflowError,
)
from workflow.i18n import _
from workflow.store.chain_writer import to_json
from workflow.store.driver import KeptCursor, driver_execute
from workflow.store.faults import mask_url, typed_fault

DEFAULT_URL = "sqlite:///workflow.db"
_WRITE = "workflow_write"
SCHEMA_OPTION = "workflow_schema"
"""Execution option naming the PostgreSQL schema the engine works in (``?schema=``)."""
CONNECT_TIMEOUT_S = 10
"""libpq's ``connect_timeout`` (per host tried) unless the URL gives its own."""
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class DatabaseOptions:
    """Connection options; each may also be given in the URL's query (``?schema=tenant_a``)."""

    sqlite_journal_mode: str = "wal"
    sqlite_synchronous: str = "normal"
    busy_timeout_ms: int = 30_000
    statement_timeout_ms: int = 30_000
    idle_in_transaction_timeout_ms: int = 60_000
    schema: str | None = None
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout_s: int = 30
    pool_recycle_s: int = 1800
    application_name: str = "workflow"


_URL_OPTIONS = {
    "journal_mode": "sqlite_journal_mode",
    "synchronous": "sqlite_synchronous",
    "busy_timeout_ms": "busy_timeout_ms",
    "statement_timeout_ms": "statement_timeout_ms",
    "idle_in_transaction_timeout_ms": "idle_in_transaction_timeout_ms",
    "schema": "schema",
    "pool_size": "pool_size",
    "max_overflow": "max_overflow",
    "pool_timeout_s": "pool_timeout_s",
    "pool_recycle_s": "pool_recycle_s",
    "application_name": "application_name",
}


_MAX_URL_INT = 2**31 - 1  # PostgreSQL's settings are 32-bit integers
_URL_CHOICES = {
    "journal_mode": ("wal", "delete", "truncate", "persist", "memory", "off"),
    "synchronous": ("off", "normal", "full", "extra"),
}


def _split_options(url: URL, options: DatabaseOptions) -> tuple[URL, DatabaseOptions]:
    values: dict[str, Any] = {}
    for key, attribute in _URL_OPTIONS.items():
        if key in url.query:
            raw = url.query[key]
            text = raw if isinstance(raw, str) else raw[-1]
            default = getattr(options, attribute)
            if isinstance(default, int) and not (text.isdigit() and int(text) <= _MAX_URL_INT):
                raise InvalidInput(
                    f"database URL option {key}={text!r} must be a whole number "
                    f"from 0 to {_MAX_URL_INT}"
                )
            choices = _URL_CHOICES.get(key)
            if choices is not None and text.lower() not in choices:
                raise InvalidInput(
                    f"database URL option {key}={text!r} must be one of {', '.join(choices)}"
                )
            values[attribute] = int(text) if isinstance(default, int) else text
    if not values:
        return url, options
    return url.difference_update_query(_URL_OPTIONS), DatabaseOptions(
        **{**options.__dict__, **values}
    )


# Driver names this code runs with; ``postgres://`` (a common spelling) means psycopg 3 too.
_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
_SUPPORTED = "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"


def parse_database_url(url: str) -> URL:
    """``url`` parsed, its driver name made canonical; :class:`InvalidInput` (with the password
    masked) for anything this code cannot use."""
    try:
        parsed = make_url(url)
        port = parsed.port
    except (ArgumentError, ValueError):
        raise InvalidInput(
            f"database URL {mask_url(url)} is not valid (expected {_SUPPORTED})"
        ) from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise InvalidInput(
            f"database URL {mask_url(url)}: driver {parsed.drivername!r} is not supported "
            f"(use {_SUPPORTED}; PostgreSQL runs on psycopg 3)"
        )
    if port is not None and not 0 < port < 65536:
        raise InvalidInput(f"database URL {mask_url(url)}: port {port} is not 1 to 65535")
    return parsed.set(drivername=driver) if driver != parsed.drivername else parsed


def create_database_engine(
    url: str, options: DatabaseOptions | None = None, *, create: bool = True
) -> Engine:
    """Create the engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    With ``create=False`` a SQLite file that does not exist raises
    :class:`~workflow.DatabaseMissing` instead of being created (a server database is never
    created here either way).
    """
    parsed, opts = _split_options(parse_database_url(url), options or DatabaseOptions())
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, opts, create=create)
    else:
        engine = _postgres_engine(parsed, opts)
    event.listen(engine, "handle_error", _typed_error)
    return engine


def _sqlite_engine(url: URL, opts: DatabaseOptions, *, create: bool) -> Engine:
    path = url.database
    in_memory = not path or path == ":memory:"
    read_only = False
    if not in_memory:
        assert path is not None
        file = Path(path)
        if not file.exists():
            if not create:
                raise DatabaseMissing(mask_url(url))
            _create_private_file(file, url, opts.sqlite_journal_mode)
        else:
            url, read_only = _read_only_url(url, file)
    engine = create_engine(
        url,
        json_serializer=to_json,
        hide_parameters=True,
        poolclass=StaticPool if in_memory else None,
        connect_args={"check_same_thread": False} if in_memory else {},
        # The driver is in autocommit mode and every transaction is begun, committed or rolled
        # back through a Core Connection, whose close() rolls back whatever is still open: the
        # pool's own rollback at check-in is a second one, paid on every write (issue 17).
        pool_reset_on_return=None,
    )
    journal = opts.sqlite_journal_mode.upper()
    synchronous = opts.sqlite_synchronous.upper()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that BEGIN is ours to choose.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(opts.busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if (
            not (in_memory or read_only)
            and cursor.execute("PRAGMA journal_mode").fetchone()[0].upper() != journal
        ):
            cursor.execute(f"PRAGMA journal_mode = {journal}")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        # On the driver: every write transaction begins here, and Core's statement machinery
        # costs several times what SQLite takes to run BEGIN.
        driver_execute(connection, "BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _read_only_url(url: URL, file: Path) -> tuple[URL, bool]:
    """``url`` itself for a file this process may write; else a read-only URI for it.

    On read-only media (or a folder we may not write) SQLite cannot make the ``-shm`` file a
    WAL reader needs: ``immutable=1`` reads the file as it is, unless a ``-wal`` file holds
    committed pages, which ``mode=ro`` reads with the ``-shm`` beside it."""
    folder_writable = os.access(file.parent, os.W_OK)
    if folder_writable and os.access(file, os.W_OK):
        return url, False
    wal = Path(f"{file}-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    mode = "mode=ro" if folder_writable or has_wal else "mode=ro&immutable=1"
    uri = f"file:{quote(str(file.resolve()))}?{mode}"
    return URL.create("sqlite", database=uri, query={"uri": "true"}), True


def _create_private_file(path: Path, url: URL, journal_mode: str) -> None:
    """Create the database file, readable by its owner only (SQLite copies the mode to its
    -wal/-shm files), already in its journal mode.

    The file is made under a temporary name and linked into place, so a process that finds it
    never switches the journal mode itself: that switch needs the exclusive lock, which SQLite
    does not wait for, and sixteen processes opening a new file at once failed on it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    except OSError as exc:
        raise DatabaseUnavailable(
            mask_url(url), _("cannot create the database file: {why}", why=exc.strerror)
        ) from None
    os.close(fd)  # mkstemp made it 0600
    try:
        with closing(sqlite3.connect(temporary)) as made:
            made.execute(f"PRAGMA journal_mode = {journal_mode}")
        try:
            os.link(temporary, path)  # never replaces: a racer's file stays
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: create it plainly
            with suppress(FileExistsError):
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    finally:
        os.unlink(temporary)


def _postgres_engine(url: URL, opts: DatabaseOptions) -> Engine:
    # Server-side limits, so that a stuck statement or a client that vanished mid-transaction
    # (another machine, a cut network) cannot hold an instance's row lock for ever.
    server_options = (
        f"-c statement_timeout={int(opts.statement_timeout_ms)}"
        f" -c idle_in_transaction_session_timeout={int(opts.idle_in_transaction_timeout_ms)}"
    )
    if opts.schema:
        if not _SCHEMA_NAME.fullmatch(opts.schema):
            raise InvalidInput(
                f"schema name {opts.schema!r} must be lower-case letters, digits and _ "
                "(not starting with a digit, at most 63 characters)"
            )
        server_options += f" -c search_path={opts.schema}"
    try:
        import psycopg  # noqa: F401, PLC0415 - the driver is an extra: SQLite installs lack it
    except ModuleNotFoundError as exc:
        raise InvalidInput(
            "PostgreSQL needs the psycopg driver: pip install 'directive-workflow[postgres]'"
        ) from exc
    connect_args: dict[str, Any] = {
        "options": server_options,
        "application_name": opts.application_name,
    }
    if "connect_timeout" not in url.query:
        # libpq waits for ever on a host that does not answer (a machine gone, not a refused
        # port): with several hosts (``?host=a:5432&host=b:5432``) the next is never tried.
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    return create_engine(
        url,
        json_serializer=to_json,
        hide_parameters=True,
        # A connection the server or a proxy dropped is replaced at checkout, not failed on.
        pool_pre_ping=True,
        pool_size=opts.pool_size,
        max_overflow=opts.max_overflow,
        pool_timeout=opts.pool_timeout_s,
        pool_recycle=opts.pool_recycle_s,
        connect_args=connect_args,
        execution_options={SCHEMA_OPTION: opts.schema} if opts.schema else {},
    )


def _typed_error(context: ExceptionContext) -> None:
    """SQLAlchemy's ``handle_error`` hook: the database's own faults become typed, one-line
    errors (see :func:`~workflow.store.faults.typed_fault`); others pass through."""
    if context.is_pre_ping:
        return
    url = mask_url(context.engine.url) if context.engine is not None else "?"
    typed = typed_fault(
        context.original_exception,
        url,
        connecting=context.connection is None,
        disconnect=context.is_disconnect,
    )
    if typed is not None:
        raise typed from context.original_exception


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
    (:func:`_prepare`). ``info`` is set into the connection's ``info`` once it is open;
    ``refusals``: a constraint the database enforced is raised as the engine's error
    (:func:`refusal`) instead of SQLAlchemy's ``IntegrityError``; ``held``: the engine's kept
    connection (:class:`HeldWriter`), used when no other transaction has it.
    """
    return _WriteTransaction(engine, info, refusals, held)


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
                connection = Connection(_writer(self._engine), self._pool.connect())
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
                connection = _writer(self._engine).connect()
            else:
                self._held = held
        except OperationalError as exc:
            raise self._mapped(exc) from exc
        try:
            if self._held is None:
                self._transaction = connection.begin()
                options = connection.get_execution_options()
                if ADOPTED_OPTION in options:
                    _prepare(connection, options, write=True)
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
                _commit(self._engine, connection, self._transaction)
        finally:
            connection.close()

    def _mapped(self, exc: BaseException) -> BaseException:
        """``exc`` as the caller must see it (itself when nothing maps it)."""
        if isinstance(exc, OperationalError):
            if _is_contention(exc.orig):
                return ConcurrentModification(0, None, None)
            return _typed_on_adopted(self._engine, exc)
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


WHOLE_INFO = "workflow_whole"
"""``connection.info`` key: the verbs joined to this transaction run in it without a SAVEPOINT
each (:func:`application_transaction` with ``savepoints=False``); its value turns True once one
of them has raised (the transaction must then be rolled back whole)."""


@contextmanager
def application_transaction(engine: Engine, *, savepoints: bool = True) -> Iterator[Connection]:
    """A write transaction for an application's own statements and the engine's verbs, which
    join it (:func:`joined_transaction`): SQLite's write lock up front, as in
    :func:`write_transaction`, but the application's ``search_path`` left as it is (the
    verbs set theirs inside their savepoints). ``savepoints=False``: the verbs run in it
    directly (two statements fewer each); one that raises spoils the whole transaction, and
    the verbs refuse to run in it again."""
    with (
        _contention(engine),
        _writer(engine).connect() as connection,
        connection.begin() as transaction,
    ):
        if connection.dialect.name == "sqlite":
            _begin_sqlite(connection)
        if not savepoints:
            connection.info[WHOLE_INFO] = False
        try:
            yield connection
            _commit(engine, connection, transaction)
        finally:
            connection.info.pop(WHOLE_INFO, None)


def _commit(engine: Engine, connection: Connection, transaction: RootTransaction) -> None:
    """Commit; on PostgreSQL a connection lost during the COMMIT is
    :class:`CommitOutcomeUnknown` (the write may or may not be there)."""
    try:
        transaction.commit()
    except (DatabaseUnavailable, DBAPIError) as exc:
        if _outcome_unknown(connection, exc):
            raise CommitOutcomeUnknown(mask_url(engine.url)) from exc
        raise


@contextmanager
def _contention(engine: Engine) -> Iterator[None]:
    """A lock that could not be had as :class:`ConcurrentModification`; on an application's
    engine the database's faults typed as our own engine's hook types them."""
    try:
        yield
    except OperationalError as exc:
        if _is_contention(exc.orig):
            raise ConcurrentModification(0, None, None) from exc
        raise _typed_on_adopted(engine, exc) from exc


def _begin_sqlite(connection: Connection, *, write: bool = True) -> None:
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


_WRITERS: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def _writer(engine: Engine) -> Engine:
    """``engine`` with the write option set (same pool), made once rather than per transaction."""
    writer = _WRITERS.get(engine)
    if writer is None:
        writer = _WRITERS[engine] = engine.execution_options(**{_WRITE: True})
    return writer


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
    with _contention(engine), engine.connect() as connection:
        if snapshot and connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            _prepare(connection, connection.get_execution_options(), write=False)
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


# --- an application's engine and its transactions (docs/embedding.md) ---------------------------

ADOPTED_OPTION = "workflow_adopted"
"""Execution option marking an application's engine (:func:`adopt_engine`): our per-connection
set-up (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's ``search_path``) is done per transaction."""
_ADOPTABLE = {"sqlite": "pysqlite", "postgresql": "psycopg"}


def adopt_engine(engine: Engine, schema: str | None = None) -> Engine:
    """The application's SQLAlchemy engine as the workflow engine uses it: the same pool and
    settings, our tables in ``schema`` (PostgreSQL) through a transaction-local
    ``search_path``; the application's engine itself is left unchanged (no listener added)."""
    if not isinstance(engine, Engine):
        raise InvalidInput(
            _(
                "an application's database must be a synchronous SQLAlchemy Engine "
                "(for an AsyncEngine, pass its sync_engine only with a synchronous driver)"
            )
        )
    backend, driver = engine.dialect.name, engine.dialect.driver
    if _ADOPTABLE.get(backend) != driver:
        raise InvalidInput(
            _(
                "the application's engine uses {backend}+{driver}: the workflow engine runs on "
                "sqlite (pysqlite) or postgresql+psycopg",
                backend=backend,
                driver=driver,
            )
        )
    if schema is not None:
        if backend != "postgresql":
            raise InvalidInput(_("a schema for the workflow's tables needs PostgreSQL"))
        if not _SCHEMA_NAME.fullmatch(schema):
            raise InvalidInput(
                f"schema name {schema!r} must be lower-case letters, digits and _ "
                "(not starting with a digit, at most 63 characters)"
            )
    return engine.execution_options(**{ADOPTED_OPTION: True, SCHEMA_OPTION: schema})


def adopted(engine: Engine) -> bool:
    """Whether ``engine`` is an application's (:func:`adopt_engine`): not ours to dispose."""
    return bool(engine.get_execution_options().get(ADOPTED_OPTION))


def _prepare(connection: Connection, options: Mapping[str, Any], *, write: bool) -> str | None:
    """What our own engine sets on each new connection, set on an application's connection for
    the current transaction only (``options``: the engine's execution options): SQLite's write
    lock taken up front (``BEGIN IMMEDIATE``) when the driver has no transaction open yet, so
    that the driver's own ``COMMIT`` ends ours; PostgreSQL's ``search_path`` set to the
    workflow's schema with ``set_config(..., true)`` (local to the transaction). Returns the
    search path it replaced, or None when it set none."""
    if not options.get(ADOPTED_OPTION):
        return None
    if connection.dialect.name == "sqlite":
        _begin_sqlite(connection, write=write)
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


def connection_of(within: Any) -> Connection:
    """The Core connection of what an application hands over: a :class:`Connection`, or an
    ORM ``Session`` (its connection, in the session's transaction, begun if need be)."""
    if isinstance(within, Connection):
        return within
    from sqlalchemy.orm import Session  # noqa: PLC0415 - only applications that pass one pay

    if isinstance(within, Session):
        return within.connection()
    raise InvalidInput(
        _(
            "within= takes a SQLAlchemy Connection or Session, not {kind}",
            kind=type(within).__name__,
        )
    )


def spoil(connection: Connection) -> None:
    """Mark a transaction without savepoints (:data:`WHOLE_INFO`) as spoiled by a verb that
    raised after it may have written: no verb runs in it again."""
    if WHOLE_INFO in connection.info:
        connection.info[WHOLE_INFO] = True


@contextmanager
def joined_transaction(engine: Engine, connection: Connection) -> Iterator[Connection]:
    """The workflow's writes inside a transaction the application opened on ``connection``:
    a SAVEPOINT, released on success and rolled back on any error (so a refused fire leaves
    the application's own work as it was and its transaction usable); committing or rolling
    back the whole is the application's. ``connection`` must be of ``engine``'s pool. In a
    transaction without savepoints (:data:`WHOLE_INFO`) the writes go in it directly."""
    if connection.engine.pool is not engine.pool:
        raise InvalidInput(_("the connection given in within= is not of this engine's database"))
    if connection.closed:
        raise InvalidInput(_("the connection given in within= is closed"))
    if not connection.in_transaction():
        connection.begin()  # the application commits it (commit-as-you-go)
    if connection.dialect.name == "sqlite":
        _begin_sqlite(connection)
    whole = connection.info.get(WHOLE_INFO)
    if whole:
        raise InvalidInput(_("a verb of this transaction was refused: roll it back whole"))
    previous = _prepare(connection, engine.get_execution_options(), write=True)
    try:
        with _contention(engine), connection.begin_nested() if whole is None else nullcontext():
            yield connection
    finally:
        if previous is not None and not connection.invalidated:
            # the application's statements after ours find its own tables again
            connection.exec_driver_sql(
                "SELECT set_config('search_path', %(path)s, true)", {"path": previous}
            )
