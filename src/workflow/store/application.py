"""An application's own SQLAlchemy engine, adopted, and the transactions it opens, joined
(docs/embedding.md).

The application's engine keeps its pool and settings and gets no listener: what our own engine
sets on each connection is set per transaction (:mod:`workflow.store.transactions`). The
engine's verbs join a transaction the application opened in a SAVEPOINT, or directly in one
opened without savepoints; the application commits or rolls back the whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy.engine import Connection, Engine

from workflow.errors import InvalidInput
from workflow.i18n import _
from workflow.store.database import ADOPTED_OPTION, SCHEMA_NAME, SCHEMA_OPTION, writer_of
from workflow.store.transactions import (
    begin_sqlite,
    commit_transaction,
    contention,
    prepare_adopted,
)

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
        if not SCHEMA_NAME.fullmatch(schema):
            raise InvalidInput(
                f"schema name {schema!r} must be lower-case letters, digits and _ "
                "(not starting with a digit, at most 63 characters)"
            )
    return engine.execution_options(**{ADOPTED_OPTION: True, SCHEMA_OPTION: schema})


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
        contention(engine),
        writer_of(engine).connect() as connection,
        connection.begin() as transaction,
    ):
        if connection.dialect.name == "sqlite":
            begin_sqlite(connection)
        if not savepoints:
            connection.info[WHOLE_INFO] = False
        try:
            yield connection
            commit_transaction(engine, connection, transaction)
        finally:
            live_info(connection).pop(WHOLE_INFO, None)


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


def live_info(connection: Connection) -> dict[Any, Any]:
    """``connection.info``; for a connection found dead in its transaction, a dict of no
    consequence: its own cannot be reached (SQLAlchemy refuses until the rollback), and the
    connection is never used again."""
    return {} if connection.invalidated else connection.info


def spoil(connection: Connection) -> None:
    """Mark a transaction without savepoints (:data:`WHOLE_INFO`) as spoiled by a verb that
    raised after it may have written: no verb runs in it again (a connection found dead is
    spoiled already: nothing runs in it again)."""
    info = live_info(connection)
    if WHOLE_INFO in info:
        info[WHOLE_INFO] = True


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
        begin_sqlite(connection)
    whole = connection.info.get(WHOLE_INFO)
    if whole:
        raise InvalidInput(_("a verb of this transaction was refused: roll it back whole"))
    previous = prepare_adopted(connection, engine.get_execution_options(), write=True)
    try:
        with contention(engine), connection.begin_nested() if whole is None else nullcontext():
            yield connection
    finally:
        if previous is not None and not connection.invalidated:
            # the application's statements after ours find its own tables again
            connection.exec_driver_sql(
                "SELECT set_config('search_path', %(path)s, true)", {"path": previous}
            )
