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

The transactions on these engines are :mod:`workflow.store.transactions`'s; an application's
own engine is adopted, and its transactions joined, in :mod:`workflow.store.application`.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote
from weakref import WeakKeyDictionary

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from workflow.errors import DatabaseMissing, DatabaseUnavailable, InvalidInput
from workflow.i18n import _
from workflow.store.chain_writer import to_json
from workflow.store.driver import driver_execute
from workflow.store.faults import mask_url, typed_fault

DEFAULT_URL = "sqlite:///workflow.db"
_WRITE = "workflow_write"
SCHEMA_OPTION = "workflow_schema"
"""Execution option naming the PostgreSQL schema the engine works in (``?schema=``)."""
CONNECT_TIMEOUT_S = 10
"""libpq's ``connect_timeout`` (per host tried) unless the URL gives its own."""
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


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
    pool_pre_ping: bool = True
    """PostgreSQL: ping a pooled connection before lending it, so that one the server or a proxy
    dropped is replaced instead of failing its first statement; a round trip per transaction.
    Off only where every transaction is retried on :class:`~workflow.ConnectionLost`
    (:meth:`Engine.retry_if_lost <workflow.Engine.retry_if_lost>`): the service's."""


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
        if not SCHEMA_NAME.fullmatch(opts.schema):
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
        pool_pre_ping=opts.pool_pre_ping,
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


# --- the execution options that mark an engine ---------------------------------------------------

_WRITERS: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def writer_of(engine: Engine) -> Engine:
    """``engine`` with the write option set (same pool), made once rather than per transaction."""
    writer = _WRITERS.get(engine)
    if writer is None:
        writer = _WRITERS[engine] = engine.execution_options(**{_WRITE: True})
    return writer


ADOPTED_OPTION = "workflow_adopted"
"""Execution option marking an application's engine (:func:`adopt_engine`): our per-connection
set-up (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's ``search_path``) is done per transaction."""


def adopted(engine: Engine) -> bool:
    """Whether ``engine`` is an application's (:func:`adopt_engine`): not ours to dispose."""
    return bool(engine.get_execution_options().get(ADOPTED_OPTION))
