"""The engine's transactions: its own write and read transactions, for its verbs and for the
package's features; a transaction of the application's, begun (``begin``) or joined
(``within=``, in a SAVEPOINT); and a write transaction run again once the machines it lacked are
compiled (``_compiled_then``).

:class:`Transactions` also declares the state every part of the engine uses, which
:class:`~workflow.engine.Engine` sets when it opens the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from sqlalchemy.exc import IntegrityError

from workflow.catalog import Catalog, NotCompiled
from workflow.clock import Clock, require_aware
from workflow.errors import ConnectionLost
from workflow.hashchain.keys import KEYS_INFO, AuditKeys
from workflow.registry import Registry
from workflow.store import Connection, Database
from workflow.store.application import (
    application_transaction,
    connection_of,
    joined_transaction,
    live_info,
    spoil,
)
from workflow.store.database import DatabaseOptions
from workflow.store.held_writer import HeldWriter
from workflow.store.transactions import read_transaction, refusal, write_transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")
Within: TypeAlias = "Connection | Session"
"""An application's open transaction: a SQLAlchemy ``Connection`` or ORM ``Session``."""


class Transactions:
    """The engine's transactions, and the state its verbs share (set by ``Engine.__init__``)."""

    url: str
    audit_keys: AuditKeys | None
    clock: Clock
    registry: Registry
    options: DatabaseOptions | None
    db: Database
    catalog: Catalog
    _adopted: bool
    _held: HeldWriter | None

    def now(self) -> datetime:
        """The engine clock's time, aware and in UTC."""
        return require_aware(self.clock.now(), "clock time")

    @contextmanager
    def read_transaction(self, *, snapshot: bool = False) -> Iterator[Connection]:
        """One read-only transaction for the package's own modules, the twin of
        :meth:`transaction`; with ``snapshot`` every statement in it sees the same snapshot."""
        with read_transaction(self.db, snapshot=snapshot) as conn:
            yield conn

    def transaction(self) -> AbstractContextManager[Connection]:
        """One write transaction for the package's own modules (timers, directives, versions).

        Unique-key races become :class:`ConcurrentModification`; nothing is committed on error.
        """
        return write_transaction(
            self.db, info={KEYS_INFO: self.audit_keys}, refusals=True, held=self._held
        )

    @contextmanager
    def begin(self, *, savepoints: bool = True) -> Iterator[Connection]:
        """A transaction for the application's own statements and the engine's verbs together
        (pass the connection as their ``within=``): committed when the block ends, rolled back
        if it raises. On SQLite it holds the write lock from the start, as the engine's own
        transactions do; the application's statements see its own tables (the engine's
        schema is current only inside the verbs)::

            with engine.begin() as conn:
                conn.execute(insert(uploads).values(name=name))
                engine.fire(instance_id, "submit", actor, payload=form, within=conn)

        Each verb joined to it runs in a SAVEPOINT, so a refused one leaves the transaction
        usable. ``savepoints=False`` spares those two statements per verb (the service's fire:
        the token's read and the fire in one transaction): a verb that raises then spoils the
        whole, which must end by raising (the engine refuses to run another verb in it).
        """
        with _refusals(), application_transaction(self.db, savepoints=savepoints) as conn:
            yield conn

    @contextmanager
    def joined(self, within: Within) -> Iterator[Connection]:
        """The engine's work inside the application's open transaction (a ``Connection`` or an
        ORM ``Session`` of this engine's database), in a SAVEPOINT released on success and
        rolled back on error; the application commits or rolls back the whole."""
        conn = connection_of(within)
        with _refusals(), joined_transaction(self.db, conn):
            had_keys = KEYS_INFO in conn.info
            before = conn.info.get(KEYS_INFO)
            conn.info[KEYS_INFO] = self.audit_keys
            try:
                yield conn
            except NotCompiled:
                raise  # nothing written yet: the verb runs again once its machine is compiled
            except BaseException:
                spoil(conn)
                raise
            finally:
                info = live_info(conn)
                if had_keys:
                    info[KEYS_INFO] = before
                else:
                    info.pop(KEYS_INFO, None)

    def reconnect(self) -> None:
        """Close the pool's connections, so that the next statements connect anew: after the
        server restarted or ended them. Connections in use are closed when they are given back.
        The pool of an application's engine (:meth:`~workflow.Engine.from_sqlalchemy`) is the
        application's, and is left alone."""
        if not self._adopted:
            self.db.dispose()

    def retry_if_lost(self, work: Callable[[], T]) -> T:
        """``work()``; when it raises :class:`~workflow.ConnectionLost` (a connection found dead
        before anything was committed: nothing was written), the pool's connections are replaced
        (:meth:`reconnect`) and ``work()`` is called once more. ``work`` must be one transaction,
        or reads only: were a second transaction's connection lost, the retry would repeat the
        first's committed writes. A connection lost while committing
        (:class:`~workflow.CommitOutcomeUnknown`) is never retried.

        Where every piece of work begins this way, the pool need not ping a connection before
        lending it (``DatabaseOptions(pool_pre_ping=False)``, a round trip per transaction
        saved): the service's requests, each begun by the read of its credentials."""
        try:
            return work()
        except ConnectionLost:
            self.reconnect()
            return work()

    def _transaction_for(
        self,
        within: Within | None,
        own: Callable[[], AbstractContextManager[Connection]] | None = None,
    ) -> Callable[[], AbstractContextManager[Connection]]:
        """How a verb opens its transaction: its own (``own``, by default a write), or a
        savepoint in the application's (``within``)."""
        if within is None:
            return own or self.transaction
        return lambda: self.joined(within)

    def _compiled_then(
        self,
        body: Callable[[Connection], T],
        transaction: Callable[[], AbstractContextManager[Connection]] | None = None,
    ) -> T:
        """``body`` in one write transaction (or the ``transaction`` given), whose machine
        lookups (:meth:`_compiled`) never compile: a version not compiled yet rolls the
        transaction back, is compiled with none open, and ``body`` runs again (each round
        compiles one more version for the process)."""
        while True:
            try:
                with (transaction or self.transaction)() as conn:
                    return body(conn)
            except NotCompiled as pending:
                self.catalog.compile_stored(pending)


@contextmanager
def _refusals() -> Iterator[None]:
    """A constraint the database enforced, as the engine's errors."""
    try:
        yield
    except IntegrityError as exc:
        raise refusal(exc) from exc
