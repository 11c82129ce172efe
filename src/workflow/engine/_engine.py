"""The :class:`Engine` class: opening a database (the engine's own, or an application's
SQLAlchemy engine), closing it, and the schema it needs. Its other methods are those of the
classes it inherits, one module each (:mod:`workflow.engine`)."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy.engine import Engine as SQLAlchemyEngine
from sqlalchemy.exc import OperationalError

from workflow.catalog import Catalog
from workflow.clock import Clock, SystemClock
from workflow.engine._actors import Actors
from workflow.engine._reads import Reads
from workflow.engine._transitions import Transitions
from workflow.errors import InvalidInput, SchemaOutOfDate
from workflow.hashchain.keys import AuditKeys
from workflow.registry import Registry, default_registry
from workflow.store import migrate
from workflow.store.application import adopt_engine
from workflow.store.database import DEFAULT_URL, DatabaseOptions, adopted, create_database_engine
from workflow.store.faults import mask_url
from workflow.store.held_writer import held_writer


class Engine(Transitions, Reads, Actors):
    """A workflow engine bound to one database.

    >>> engine = Engine.open("sqlite:///workflow.db")          # doctest: +SKIP
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        clock: Clock | None = None,
        registry: Registry | None = None,
        options: DatabaseOptions | None = None,
        check_schema: bool = True,
        create: bool = True,
        audit_keys: AuditKeys | None = None,
        keys_from_environment: bool = True,
        _bind: SQLAlchemyEngine | None = None,
    ) -> None:
        self.url = url
        if audit_keys is None and keys_from_environment:
            audit_keys = AuditKeys.from_environment()
        self.audit_keys = audit_keys
        """Every event written is sealed under the first
        (:class:`~workflow.hashchain.keys.AuditKeys`); None: written unkeyed. By default
        ``WORKFLOW_AUDIT_KEY`` or ``WORKFLOW_AUDIT_KEY_FILE``."""
        self.clock: Clock = clock or SystemClock()
        self.registry = registry if registry is not None else default_registry
        self.options = options
        self._adopted = _bind is not None
        self.db = create_database_engine(url, options, create=create) if _bind is None else _bind
        self._held = held_writer(self.db)
        if self._held is not None:
            # An engine collected unclosed still gives its kept connection back to the pool.
            weakref.finalize(self, self._held.close)
        self.catalog = Catalog(self.registry)
        if check_schema:
            try:
                self._ensure_schema(create=create)
            except BaseException:
                self.db.dispose()  # a refused engine must not leave its connection to the GC
                raise

    @classmethod
    def open(cls, url: str = DEFAULT_URL, **kwargs: Any) -> Engine:
        """Open the database at ``url``; a new SQLite file is created and migrated on first use.

        ``create=False`` opens only a database that exists and is migrated: a missing SQLite file
        raises :class:`~workflow.DatabaseMissing` and an empty one
        :class:`~workflow.SchemaOutOfDate`, and nothing is created (what a read should do).
        A SQLite file this process may not write (read-only media) is opened read-only.
        """
        return cls(url, **kwargs)

    @classmethod
    def from_sqlalchemy(
        cls, engine: SQLAlchemyEngine, *, schema: str | None = None, **kwargs: Any
    ) -> Engine:
        """The engine over an application's own SQLAlchemy engine: its pool and settings,
        which stay the application's (``close`` leaves the pool alone, no listener is added).

        ``schema`` (PostgreSQL): the schema holding the workflow's tables, made current only
        inside the engine's own statements (a transaction-local ``search_path``), so the
        application's tables and its own migration history stay apart. The schema is not
        migrated here: run :meth:`upgrade_schema` (or ``workflow db upgrade`` with
        ``?schema=``) when deploying, as for any server database; until then the engine
        refuses with :class:`~workflow.SchemaOutOfDate` (``check_schema=False`` skips the
        check). Every verb that writes takes ``within=`` to join a transaction the application
        opened (docs/embedding.md). Other keywords as for :class:`Engine`.
        """
        kwargs.setdefault("create", False)
        bound = adopt_engine(engine, schema)
        return cls(mask_url(engine.url), _bind=bound, **kwargs)

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
        if not adopted(self.db):
            self.db.dispose()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema ----------------------------------------------------------------------------

    def _ensure_schema(self, *, create: bool) -> None:
        head = migrate.head_revision()
        try:
            current = migrate.current_revision(self.db)
        except OperationalError as exc:
            why = str(exc.orig).strip().splitlines()[0]
            raise InvalidInput(f"cannot open database {self.db.url!r}: {why}") from exc
        if current == head:
            return
        if not migrate.is_known(current):
            raise SchemaOutOfDate(current, head, ahead=True)
        if create and current is None and self.db.dialect.name == "sqlite":
            # Under the write lock, re-checked there: many processes may open a new file at once.
            migrate.upgrade(self.db, only_if_empty=True)
            current = migrate.current_revision(self.db)
            if current == head:
                return
        raise SchemaOutOfDate(current, head)

    def upgrade_schema(self) -> None:
        """Migrate the database to the schema this code needs (``workflow db upgrade``)."""
        migrate.upgrade(self.db)

    def schema_revision(self) -> tuple[str | None, str]:
        """(where the database stands, what this code needs)."""
        return migrate.current_revision(self.db), migrate.head_revision()

    @staticmethod
    def schema_known(revision: str | None) -> bool:
        """Whether ``revision`` is one of this code's migrations (False: the database is newer)."""
        return migrate.is_known(revision)
