"""The engine: deploy definitions, start instances, fire triggers, read history, verify the log.

Every write is one database transaction: the instance row, its audit event, its timers and its
outbox row commit together or not at all.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, Unpack

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SQLAlchemyEngine
from sqlalchemy.exc import IntegrityError, OperationalError

from workflow._idempotency import replay

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from workflow._legal import (
    ProgressCallback,
)
from workflow._machine import CompiledMachine, StepContext
from workflow._steps import (
    Applied,
    FireRequest,
    StartRequest,
    fire_in,
    start_in,
    start_many_in,
)
from workflow._verification import LogSource, verify_log
from workflow.catalog import (
    Catalog,
    NotCompiled,
    deployed_definitions,
    document_hash,
)
from workflow.clock import Clock, SystemClock, require_aware
from workflow.definition import model as m
from workflow.errors import (
    CommitOutcomeUnknown,
    ConcurrentModification,
    DefinitionError,
    InvalidInput,
    NotFound,
    ReservedIdentity,
    SchemaOutOfDate,
    WorkflowError,
)
from workflow.hashchain import (
    CHANNELS,
    KEYS_INFO,
    AuditKeys,
    RowObserver,
    VerificationReport,
)
from workflow.i18n import _
from workflow.limits import (
    MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_ITEM_KEY_CHARS,
    MAX_NAME_CHARS,
    MAX_UNIT_CHARS,
    check_instance_id,
    check_json_object,
    check_optional,
    check_reason,
    check_text,
)
from workflow.logs import get_logger
from workflow.records import (
    Actor,
    AuditEvent,
    DeployedDefinition,
    DeployResult,
    FireResult,
    Instance,
    RegisteredActor,
    TriggerMenu,
    reserved_part,
)
from workflow.registry import GuardContext, Registry, default_registry
from workflow.store import chain_writer, migrate
from workflow.store import repository as repo
from workflow.store.application import (
    adopt_engine,
    application_transaction,
    connection_of,
    joined_transaction,
    spoil,
)
from workflow.store.database import DEFAULT_URL, DatabaseOptions, adopted, create_database_engine
from workflow.store.faults import mask_url
from workflow.store.held_writer import held_writer
from workflow.store.idempotency import (
    KeyedRequest,
    fire_request,
    placement,
    remember,
    remembered,
    start_request,
)
from workflow.store.mapping import to_event, to_instance
from workflow.store.repository import InstanceFilter
from workflow.store.transactions import read_transaction, refusal, write_transaction

log = get_logger("workflow")
T = TypeVar("T")
Within: TypeAlias = "Connection | Session"
"""An application's open transaction: a SQLAlchemy ``Connection`` or ORM ``Session``."""


class Engine:
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
        """Every event written is sealed under the first (:class:`~workflow.hashchain.AuditKeys`);
        None: written unkeyed. By default ``WORKFLOW_AUDIT_KEY`` or ``WORKFLOW_AUDIT_KEY_FILE``."""
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

    # --- definitions -------------------------------------------------------------------------

    def validate_file(self, path: str | Path) -> m.Definition:
        """Load and validate a definition file against this engine's registry."""
        from workflow.definition.loader import load_file

        return load_file(path, names=self.catalog.names)

    def deploy(self, path: str | Path, *, actor: str = "admin") -> DeployResult:
        """Deploy a definition file: a new version when its content changed, else a no-op."""
        from workflow.definition.yamlsafe import read_file

        return self._deploy(read_file(path), str(path), actor)

    def deploy_text(
        self, source: str, *, filename: str = "<string>", actor: str = "admin"
    ) -> DeployResult:
        """Deploy a definition given as text (``filename`` names it in messages)."""
        return self._deploy(source.encode("utf-8"), filename, actor)

    def _deploy(self, raw: bytes, filename: str, actor: str) -> DeployResult:
        # Parsed, validated and hashed before the write transaction: a large definition costs
        # its CPU time without holding the write lock (docs/guarantees.md).
        from workflow.definition.loader import load_document

        definition, document = load_document(raw, filename, names=self.catalog.names)
        digest = document_hash(document)
        compiled = self.catalog.compile(definition)  # before the commit: validate = deploy
        now = self.now()
        with self.transaction() as conn:
            result = self.catalog.deploy(conn, definition, raw, digest, filename, actor, now)
        if result.created:
            # only after commit: a rolled-back deploy must leave no machine behind
            self.catalog.remember(compiled, result)
            log.info("definition.deployed", workflow=result.workflow, version=result.version)
        return result

    def definition(self, workflow: str, version: int | None = None) -> m.Definition:
        """The deployed definition (the newest version unless one is named), to read: it is
        returned even when this process has not registered the functions it names."""
        check_text(workflow, "workflow name")
        with self.read_transaction() as conn:
            try:
                return self.catalog.machine(
                    conn, workflow, version, startable=False, compile_here=False
                ).definition
            except NotCompiled as pending:
                waiting = pending
        try:
            return self.catalog.compile_stored(waiting).definition  # no connection held meanwhile
        except DefinitionError:
            # this process has not registered the functions the version names: still readable
            return self.catalog.read_stored(waiting)

    def compile_ahead(self, workflow: str, version: int | None = None) -> None:
        """Compile ``workflow@version`` (the newest for None) now, with no transaction open, if
        it is deployed: for a caller about to open its own write transaction, so that nothing is
        compiled inside it. Whatever is wrong is left for that transaction to report."""
        with suppress(WorkflowError):
            self.definition(workflow, version)

    def deployed(self, workflow: str | None = None) -> list[DeployedDefinition]:
        """Every deployed version with its count of live instances."""
        with self.read_transaction() as conn:
            return deployed_definitions(conn, workflow)

    def machine_for(self, conn: Connection, workflow: str, version: int | None) -> CompiledMachine:
        """The compiled machine of ``workflow@version`` (the newest startable one for None)."""
        return self.catalog.machine(conn, workflow, version)

    def _compiled(self, conn: Connection, workflow: str, version: int | None) -> CompiledMachine:
        """:meth:`machine_for` inside :meth:`_run`'s write transaction: never compiles there."""
        return self.catalog.machine(conn, workflow, version, compile_here=False)

    # --- instances ---------------------------------------------------------------------------

    def start(
        self,
        workflow: str,
        actor: Actor,
        *,
        data: Mapping[str, Any] | None = None,
        unit: str | None = None,
        coordinating_units: Sequence[str] = (),
        directive_id: int | None = None,
        item_key: str | None = None,
        parent_id: int | None = None,
        idempotency_key: str | None = None,
        within: Within | None = None,
        channel: str | None = None,
    ) -> FireResult:
        """Start an instance of the newest version of ``workflow`` in its initial state.

        ``within``: a SQLAlchemy ``Connection`` or ORM ``Session`` whose open transaction the
        start joins (see :meth:`fire`). ``channel`` (``api``, ``web`` or ``cli``) says where the
        request came from: it is recorded, hashed, in the audit event (None: not said)."""
        request = StartRequest(
            data or {}, unit, tuple(coordinating_units), directive_id, item_key, parent_id
        )
        _check_start(workflow, request, idempotency_key)
        check_channel(channel)
        keyed = None
        if idempotency_key is not None:
            where = placement(unit, request.coordinating_units, directive_id, item_key, parent_id)
            keyed = start_request(idempotency_key, workflow, actor.id, request.data, where)
        return self._run(
            lambda conn, now: start_in(
                conn, self._compiled, self.registry, workflow, request, actor, now, channel
            ),
            actor,
            f"start {workflow}",
            keyed,
            within=within,
        )

    def start_many(
        self,
        workflow: str,
        actor: Actor,
        requests: Iterable[StartRequest],
        *,
        within: Within | None = None,
    ) -> list[int]:
        """Start many instances in one transaction (all or none); returns their ids."""
        now = self.now()
        batch = list(requests)
        starts = self._compiled_then(
            lambda conn: start_many_in(conn, self._compiled, workflow, batch, actor, now),
            self._transaction_for(within),
        )
        ids = [int(s.instance["id"]) for s in starts]
        log.info("instances.started", workflow=workflow, count=len(ids), actor=actor.id)
        return ids

    def fire(
        self,
        instance_id: int,
        trigger: str,
        actor: Actor,
        *,
        payload: Mapping[str, Any] | None = None,
        reason: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        within: Within | None = None,
        channel: str | None = None,
    ) -> FireResult:
        """Fire ``trigger`` on an instance as ``actor``, in one transaction; ``channel`` (``api``,
        ``web`` or ``cli``) is recorded, hashed, in the audit event (None: not said).

        ``within``: a SQLAlchemy ``Connection`` (of this engine's database: its pool, or the
        application's engine given to :meth:`from_sqlalchemy`) or ORM ``Session`` whose open
        transaction the fire joins, in a SAVEPOINT: the instance update (the one optimistic
        version check), the audit, timer and outbox rows commit with the application's own
        writes or roll back with them, and a refused fire undoes only its own. Nothing is
        announced before that commit: the outbox row is delivered once committed.

        Raises :class:`~workflow.UnknownTrigger`, :class:`~workflow.TransitionNotAllowed`,
        :class:`~workflow.PermissionDenied`, :class:`~workflow.GuardFailed`,
        :class:`~workflow.ConcurrentModification` (someone else moved it first, or the
        instance is not at ``expected_version``) or :class:`~workflow.NotFound`.
        """
        instance_id = check_instance_id(instance_id)
        reason = check_reason(reason)
        channel = check_channel(channel)
        payload = payload or {}
        request = FireRequest(
            instance_id,
            trigger,
            actor,
            payload,
            reason,
            expected_version,
            channel=channel,
            payload_json=check_json_object(payload, "payload"),
        )
        check_optional(idempotency_key, "idempotency key", MAX_IDEMPOTENCY_KEY_CHARS)
        keyed = None
        if idempotency_key is not None:
            keyed = fire_request(
                idempotency_key,
                request.instance_id,
                trigger,
                actor.id,
                request.payload,
                request.reason,
            )
        try:
            return self._run(
                lambda conn, now: fire_in(conn, self._compiled, self.registry, request, now),
                actor,
                f"fire {trigger} on {instance_id}",
                keyed,
                within=within,
            )
        except ConcurrentModification as exc:
            if exc.instance_id:
                raise
            # the database refused a lock (busy, NOWAIT): name the instance for the caller
            raise ConcurrentModification(request.instance_id, None, None) from exc

    def fire_timer(
        self,
        timer_id: int,
        instance_id: int,
        trigger: str,
        *,
        now: datetime | None = None,
        expected_version: int | None = None,
    ) -> FireResult:
        """Fire a due timer as ``system:timer``.

        The timer row is marked fired in the transition's own transaction, so a timer's
        transition is applied at most once however often it is tried; ``expected_version``
        (the instance version seen when the timer was claimed) refuses a stale claim.
        """
        request = FireRequest(
            instance_id, trigger, Actor.system(), {}, None, expected_version, timer_id
        )
        return self._run(
            lambda conn, at: fire_in(conn, self._compiled, self.registry, request, at),
            request.actor,
            f"fire timer {timer_id}",
            None,
            now,
        )

    def _run(
        self,
        apply: Callable[[Connection, datetime], Applied],
        actor: Actor,
        action: str,
        keyed: KeyedRequest | None,
        at: datetime | None = None,
        *,
        within: Within | None = None,
    ) -> FireResult:
        """Apply one start or fire; a key already used replays its result (``_idempotency``)."""
        started = time.perf_counter()
        now = self.now() if at is None else require_aware(at, "now")

        def attempt(conn: Connection) -> tuple[FireResult, Applied | None]:
            if keyed is not None:
                seen = remembered(conn, keyed.key)
                if seen is not None:
                    return replay(conn, self._compiled, keyed, seen, actor), None
            applied: Applied = apply(conn, now)
            if keyed is not None:
                remember(conn, keyed, applied.instance_id, applied.seq, now)
            return applied.result or FireResult(
                to_instance(_must(repo.instance_row(conn, applied.instance_id))),
                to_event(_must(repo.audit_row(conn, applied.instance_id, applied.seq))),
            ), applied

        try:
            result, applied = self._compiled_then(attempt, self._transaction_for(within))
            if applied is None:
                return result
        except CommitOutcomeUnknown as exc:
            # Neither applied nor refused: the caller must check, or resend with the same key.
            log.warning("transition.outcome_unknown", action=action, actor=actor.id)
            key = None if keyed is None else keyed.key
            raise CommitOutcomeUnknown(exc.url, action, key) from exc
        except WorkflowError as exc:
            # No message: a guard's refusal quotes the value it saw, which may come from the
            # payload, and payload values are never logged. The caller gets the full error.
            log.info("transition.refused", action=action, actor=actor.id, error=type(exc).__name__)
            raise
        log.info(
            "transition.applied",
            instance=applied.instance_id,
            trigger=result.event.trigger or "start",
            from_state=applied.from_state,
            to_state=applied.to_state,
            actor=actor.id,
            joined=within is not None,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return result

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

    def available_triggers(
        self,
        instance_id: int,
        actor: Actor,
        *,
        payload: Mapping[str, Any] | None = None,
        within: Within | None = None,
    ) -> TriggerMenu:
        """Every trigger of the instance's definition, in declaration order, each allowed for
        ``actor`` now or closed with the reason (``state``: no transition from the current
        state; ``role``; ``unit``; ``guard``, with the missing fields), read in one transaction.

        The buttons of a user interface: an allowed trigger is one :meth:`fire` would take with
        the same actor and ``payload`` (guards see the instance's data with ``payload`` laid over
        it, as in a fire), unless the instance moves first; pass the menu's
        ``instance.version`` as ``expected_version`` to refuse that case. Raises
        :class:`~workflow.NotFound` for an unknown instance.
        """
        instance_id = check_instance_id(instance_id)
        draft = dict(payload or {})
        check_json_object(draft, "payload")
        now = self.now()

        def read(conn: Connection) -> TriggerMenu:
            row = repo.instance_row(conn, instance_id)
            if row is None:
                raise NotFound("instance", instance_id)
            compiled = self._compiled(conn, row.workflow, row.definition_version)
            coordinating = tuple(row.coordinating_units or ())
            options = []
            for trigger in compiled.definition.triggers:
                ctx = GuardContext(
                    instance_id=instance_id,
                    workflow=row.workflow,
                    state=row.state,
                    trigger=trigger,
                    actor_id=actor.id,
                    actor_roles=actor.roles,
                    data=dict(row.data),
                    payload=draft,
                    now=now,
                )
                step = StepContext(ctx, actor, row.unit, coordinating)
                options.append(compiled.option(row.state, trigger, step))
            return TriggerMenu(to_instance(row), actor.id, tuple(options))

        return self._compiled_then(read, self._transaction_for(within, self.read_transaction))

    # --- reads -------------------------------------------------------------------------------

    def get(self, instance_id: int, *, within: Within | None = None) -> Instance:
        """The instance as stored (``within``: as the application's transaction sees it)."""
        with self._transaction_for(within, self.read_transaction)() as conn:
            row = repo.instance_row(conn, check_instance_id(instance_id))
        if row is None:
            raise NotFound("instance", instance_id)
        return to_instance(row)

    def instances(
        self,
        *,
        limit: int = 100,
        before_id: int | None = None,
        **where: Unpack[InstanceFilter],
    ) -> list[Instance]:
        """Instances matching every filter given (``workflow``, ``state``, ``unit``,
        ``directive_id``, ``active``, ``involving``), newest first; page with ``before_id``.

        ``involving``: only those of no unit, those one of these units leads or coordinates
        and those of the ``involving_directives`` (what a member of these units who oversees
        these directives may see: ``workflow.accounts.visible_instances``)."""
        _check_filters(where)
        with self.read_transaction() as conn:
            rows = repo.instance_rows(conn, where, limit=limit, before_id=before_id)
        return [to_instance(r) for r in rows]

    def count_instances(self, **where: Unpack[InstanceFilter]) -> int:
        """How many instances :meth:`instances` would list with these filters and no limit."""
        _check_filters(where)
        with self.read_transaction() as conn:
            return repo.instance_count(conn, where)

    def history(self, instance_id: int, *, within: Within | None = None) -> list[AuditEvent]:
        """Every audit event of one instance, oldest first."""
        with self._transaction_for(within, self.read_transaction)() as conn:
            if repo.instance_row(conn, check_instance_id(instance_id)) is None:
                raise NotFound("instance", instance_id)
            return [to_event(r) for r in repo.history_rows(conn, instance_id)]

    def verify(
        self,
        instance_id: int | None = None,
        *,
        observe: RowObserver | None = None,
        progress: ProgressCallback | None = None,
        processes: int | None = None,
    ) -> VerificationReport:
        """Walk every chain (or one) and replay it as a legal run (:mod:`workflow._legal`); the
        report lists the first bad event per chain, and the administrators' log's first (chain
        0: its links, then the definitions and actors tables against it) when every chain was
        walked. ``observe`` sees every audit row read (a checkpoint's check); ``progress`` is
        called with the number of events read so far, now and then.

        A SQLite log of 200,000 events or more is split over up to ``processes`` processes
        (default: one a core, at most four), all reading one snapshot
        (:mod:`workflow._verification`); ``processes=1`` walks it here alone. The report is the
        same either way."""
        source = LogSource(
            self.db, self.catalog, self.registry, self.audit_keys,
            None if self._adopted else self.url, self.options,
        )  # fmt: skip
        return verify_log(
            source, instance_id, observe=observe, progress=progress, processes=processes
        )

    # --- actors ------------------------------------------------------------------------------

    def add_actor(
        self,
        actor_id: str,
        roles: Iterable[str],
        *,
        unit: str | None = None,
        name: str | None = None,
        by: str = "admin",
    ) -> Actor:
        """Register (or update) an actor for the CLI, which looks roles up by id.

        The engine's own identities (ids ``system:*``, the role ``system``) are refused with
        :class:`ReservedIdentity`: no one registers as the timer.
        """
        actor = Actor(actor_id, roles, unit)
        reserved = reserved_part(actor.id, actor.roles)
        if reserved is not None:
            raise ReservedIdentity(actor.id, reserved)
        check_optional(name, "actor name", MAX_NAME_CHARS)
        check_text(by, "by", MAX_NAME_CHARS)
        now = self.now()
        with self.transaction() as conn:
            repo.upsert_actor(conn, actor.id, sorted(actor.roles), unit, name, now)
            chain_writer.append_admin_event(
                conn, "actor", actor.id, by, {"roles": sorted(actor.roles), "unit": unit}, now
            )
        return actor

    def actor(self, actor_id: str) -> Actor:
        check_text(actor_id, "actor id")
        with self.read_transaction() as conn:
            row = repo.actor_row(conn, actor_id)
        if row is None:
            raise NotFound("actor", actor_id)
        reserved = reserved_part(row.id, row.roles)
        if reserved is not None:  # a row registered before identities were reserved
            raise ReservedIdentity(row.id, reserved)
        return Actor(row.id, row.roles, row.unit)

    def actors(self) -> list[RegisteredActor]:
        """Every registered actor, with its display name."""
        with self.read_transaction() as conn:
            return [
                RegisteredActor(r.id, frozenset(r.roles), r.unit, r.name)
                for r in repo.actor_rows(conn)
            ]

    # --- plumbing ----------------------------------------------------------------------------

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
                if had_keys:
                    conn.info[KEYS_INFO] = before
                else:
                    conn.info.pop(KEYS_INFO, None)

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


@contextmanager
def _refusals() -> Iterator[None]:
    """A constraint the database enforced, as the engine's errors."""
    try:
        yield
    except IntegrityError as exc:
        raise refusal(exc) from exc


def _must(row: Any) -> Any:
    if row is None:  # pragma: no cover - rows read back inside their own transaction exist
        raise NotFound("row", "just written")
    return row


def _check_filters(where: InstanceFilter) -> None:
    """Refuse a filter that is not one (a misspelt keyword would otherwise filter nothing) and
    names beyond their limits."""
    unknown = where.keys() - InstanceFilter.__annotations__.keys()
    if unknown:
        raise TypeError(f"not an instance filter: {', '.join(sorted(unknown))}")
    for what in ("workflow", "state", "unit"):
        check_optional(where.get(what), what)
    for each in where.get("involving") or ():
        check_text(each, "unit", MAX_UNIT_CHARS)
    if not all(isinstance(d, int) for d in where.get("involving_directives") or ()):
        raise TypeError("involving_directives holds directive ids")


def check_channel(channel: str | None) -> str | None:
    """``channel`` when it is None or one of :data:`~workflow.hashchain.CHANNELS`."""
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput(
            _(
                "channel must be one of {channels} (got {channel!r})",
                channels=", ".join(CHANNELS),
                channel=channel,
            )
        )
    return channel


def _check_start(workflow: str, request: StartRequest, idempotency_key: str | None) -> None:
    check_text(workflow, "workflow name", MAX_NAME_CHARS)
    check_json_object(request.data, "data")
    check_optional(request.unit, "unit", MAX_UNIT_CHARS)
    for unit in request.coordinating_units:
        check_text(unit, "coordinating unit", MAX_UNIT_CHARS)
    check_optional(request.item_key, "item key", MAX_ITEM_KEY_CHARS)
    check_optional(idempotency_key, "idempotency key", MAX_IDEMPOTENCY_KEY_CHARS)
