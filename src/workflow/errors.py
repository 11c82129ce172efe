"""The error hierarchy of the engine.

Every error a caller can expect is a :class:`WorkflowError`; each subclass carries the facts a
caller needs to act (the instance, the state, the trigger, the missing fields) and a message a
person can read. Only the CLI turns these into exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from workflow.i18n import N_, _, ngettext


class WorkflowError(Exception):
    """Base class of every expected error raised by the engine."""


@dataclass(frozen=True)
class DefinitionIssue:
    """One problem found in a definition file, located by file, line and key path."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" [{self.key}]" if self.key else ""
        return f"{where}:{key} {self.message}"


class DefinitionError(WorkflowError):
    """A definition file is malformed or inconsistent; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[DefinitionIssue]) -> None:
        self.issues = tuple(issues)
        head = ngettext(
            "invalid definition ({count} problem)",
            "invalid definition ({count} problems)",
            len(self.issues),
        )
        super().__init__(head + "\n" + "\n".join(f"  {issue}" for issue in self.issues))


class NotFound(WorkflowError):
    """An instance, definition, actor or directive does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(_("{kind} {key} not found", kind=_(kind), key=key))


KINDS = (
    N_("instance"),
    N_("definition"),
    N_("deployed workflow"),
    N_("idempotent result"),
    N_("actor"),
    N_("row"),
    N_("event"),
    N_("timer"),
    N_("directive"),
    N_("unit"),
    N_("item"),
)
"""What :class:`NotFound` names (its ``kind``, a code): each is shown in the current language."""


class UnknownTrigger(WorkflowError):
    """The trigger is not declared anywhere in the instance's definition."""

    def __init__(self, instance_id: int, workflow: str, trigger: str, known: Sequence[str]) -> None:
        self.instance_id = instance_id
        self.workflow = workflow
        self.trigger = trigger
        self.known = tuple(known)
        super().__init__(
            _(
                "unknown trigger {trigger!r} for instance {instance_id} ({workflow}); "
                "known triggers: {known}",
                trigger=trigger,
                instance_id=instance_id,
                workflow=workflow,
                known=", ".join(self.known) or _("none"),
            )
        )


class TransitionNotAllowed(WorkflowError):
    """The trigger exists but has no transition out of the instance's current state."""

    def __init__(
        self, instance_id: int, state: str, trigger: str, available: Sequence[str]
    ) -> None:
        self.instance_id = instance_id
        self.state = state
        self.trigger = trigger
        self.available = tuple(available)
        fields = {"instance_id": instance_id, "state": state, "trigger": trigger}
        if self.available:
            message = _(
                "instance {instance_id} is in state {state!r}: trigger {trigger!r} is not "
                "allowed there; from {state!r} you can: {available}",
                available=", ".join(self.available),
                **fields,
            )
        else:
            message = _(
                "instance {instance_id} is in state {state!r}: trigger {trigger!r} is not "
                "allowed there",
                **fields,
            )
        super().__init__(message)


class GuardFailed(WorkflowError):
    """Every transition for the trigger was refused by its guards."""

    def __init__(
        self,
        instance_id: int,
        state: str,
        trigger: str,
        reasons: Sequence[str],
        missing_fields: Sequence[str] = (),
    ) -> None:
        self.instance_id = instance_id
        self.state = state
        self.trigger = trigger
        self.reasons = tuple(reasons)
        self.missing_fields = tuple(missing_fields)
        super().__init__(
            _(
                "instance {instance_id}: {trigger!r} from {state!r} refused by its guards: "
                "{detail}",
                instance_id=instance_id,
                trigger=trigger,
                state=state,
                detail="; ".join(self.reasons),
            )
        )


class PermissionDenied(WorkflowError):
    """The actor lacks the role (or unit) the transition requires."""

    def __init__(self, actor: str, action: str, why: str) -> None:
        self.actor = actor
        self.action = action
        self.why = why
        super().__init__(
            _("actor {actor!r} may not {action}: {why}", actor=actor, action=action, why=why)
        )


class NotAuthenticated(WorkflowError):
    """The credentials name no one: an unknown account or a wrong password (one message for
    both), a disabled account, an unknown, expired or revoked token."""

    def __init__(self, why: str | None = None) -> None:
        self.why = why or _("wrong account name or password")
        super().__init__(_("not authenticated: {why}", why=self.why))


class LoginThrottled(WorkflowError):
    """Too many failed logins for this account or from this address: refused without checking
    the password; ``retry_after`` is how many seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            _("too many failed logins: try again in {seconds} s", seconds=retry_after)
        )


class ConcurrentModification(WorkflowError):
    """Someone else changed the instance first; reload and retry."""

    def __init__(self, instance_id: int, expected: int | None, actual: int | None) -> None:
        self.instance_id = instance_id
        self.expected = expected
        self.actual = actual
        if expected is None:
            message = _(
                "instance {instance_id} was modified concurrently; reload and retry",
                instance_id=instance_id,
            )
        else:
            message = _(
                "instance {instance_id} was modified concurrently (expected version "
                "{expected}, found {actual}); reload and retry",
                instance_id=instance_id,
                expected=expected,
                actual=actual,
            )
        super().__init__(message)


class TimeRunsBackwards(ConcurrentModification):
    """The write's time is before the instance's last event: audit time never runs backwards.

    A clock behind the one that wrote the last event (another host's), or a chosen time before
    it (a simulation run at an earlier moment). Nothing is written; retry at a later time.
    """

    def __init__(self, instance_id: int, at: datetime, last: datetime) -> None:
        super().__init__(instance_id, None, None)
        self.at = at
        self.last = last
        Exception.__init__(
            self,
            _(
                "instance {instance_id}: its last event is dated {last}, after this write's "
                "time {at}; an event is never dated before the one it follows (a clock behind, "
                "or a chosen time earlier than the log): retry later",
                instance_id=instance_id,
                last=last.isoformat(),
                at=at.isoformat(),
            ),
        )


class InvalidInput(WorkflowError):
    """A caller-supplied value is malformed: bad payload, naive datetime, missing reason."""


class InputTooLarge(InvalidInput):
    """A file or stream holds more than its limit (only the limit and one byte were read)."""

    def __init__(self, source: str, limit: int, what: str = "") -> None:
        self.source = source
        self.limit = limit
        message = _(
            "{source} is larger than the limit of {limit:,} bytes", source=source, limit=limit
        )
        super().__init__(f"{what}: {message}" if what else message)


class MissingExtra(InvalidInput):
    """An optional dependency is not installed: ``module``, from the distribution's ``extra``."""

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            _(
                "this needs the Python package {module!r}, which is not installed; install it "
                "with pip install 'directive-workflow[{extra}]'",
                module=module,
                extra=extra,
            )
        )


class IdempotencyKeyReused(InvalidInput):
    """An idempotency key already applied a different request; it is refused, never replayed.

    ``differs`` names the parts of the request that differ (``instance``, ``trigger``,
    ``actor``, ``payload``, ...), never their values.
    """

    def __init__(self, key: str, differs: Sequence[str]) -> None:
        self.key = key
        self.differs = tuple(differs)
        super().__init__(
            _(
                "idempotency key {key!r} was already used for a different request (it differs "
                "in: {differs}); a key names one request: send a new key for a new request",
                key=key,
                differs=", ".join(self.differs),
            )
        )


class NotASimulation(InvalidInput):
    """A chosen time (not the clock's) was given for a database not marked as a simulation."""

    def __init__(self, what: str, how: str) -> None:
        self.what = what
        self.how = how
        super().__init__(
            _(
                "{what} is a simulation option, refused here: this database is not marked as a "
                "simulation, so its events are dated by the clock only ({how} marks one, in the "
                "administrators' log)",
                what=what,
                how=how,
            )
        )


class ReservedIdentity(InvalidInput):
    """An actor id or role that only the engine's own actors hold (``system:*``, role ``system``):
    no person may be registered as, or act as, the timer."""

    def __init__(self, actor_id: str, what: str) -> None:
        self.actor_id = actor_id
        self.what = what
        super().__init__(
            _(
                "actor {actor_id!r}: {what} is reserved for the engine's own actors (ids "
                "starting with 'system:' and the role 'system'); choose another",
                actor_id=actor_id,
                what=what,
            )
        )


class SchemaOutOfDate(WorkflowError):
    """The database schema is not at the revision this code needs."""

    def __init__(self, current: str | None, head: str, *, ahead: bool = False) -> None:
        self.current = current
        self.head = head
        self.ahead = ahead
        if ahead:
            super().__init__(
                _(
                    "database schema is at revision {current}, newer than this version of "
                    "workflow knows (it needs {head}): run the newer version of workflow",
                    current=current,
                    head=head,
                )
            )
            return
        super().__init__(
            _(
                "database schema is at revision {current}, this version of workflow needs "
                "{head}: run `workflow db upgrade`",
                current=current or _("none"),
                head=head,
            )
        )


class DatabaseUnavailable(WorkflowError):
    """The database cannot be used as asked: unreachable, not a database, read-only, full, or a
    URL this code cannot use. ``url`` is shown with its password masked; nothing changed."""

    def __init__(self, url: str, why: str) -> None:
        self.url = url
        self.why = why
        super().__init__(_("database {url}: {why}", url=url, why=why))


class ConnectionLost(DatabaseUnavailable):
    """The connection to the database was found dead before anything was committed (the server
    restarted or ended the connection, or a failover began): nothing was written, so the same
    transaction may run again on a new connection (:meth:`Engine.retry_if_lost
    <workflow.Engine.retry_if_lost>`). A connection lost while committing is
    :class:`CommitOutcomeUnknown` instead."""


class DatabaseMissing(DatabaseUnavailable):
    """The SQLite file does not exist and the caller asked not to create one."""

    def __init__(self, url: str) -> None:
        super().__init__(url, _("no such database file (nothing was created)"))


class DatabaseBusy(WorkflowError):
    """The database did not answer in time (a statement or lock timeout); nothing was committed.
    Retrying later is safe."""

    def __init__(self, url: str, why: str) -> None:
        self.url = url
        self.why = why
        super().__init__(
            _("database {url}: {why}; nothing was changed, retry later", url=url, why=why)
        )


class CommitOutcomeUnknown(WorkflowError):
    """The connection to the database was lost while it committed (the server died, or a
    failover began): the write may or may not have been applied, and no one can say which until
    the database answers again. Never a success, never a refusal.

    Resending the same request with the same ``idempotency_key`` is safe: it is applied if the
    first attempt was lost, and replays the first result if it was not. Without a key, check
    (``workflow history``, ``workflow show``) before sending it again. A timer's fire needs
    nothing: its row is fired at most once, and a claim not settled returns after its lease.
    """

    def __init__(self, url: str, action: str = "", idempotency_key: str | None = None) -> None:
        self.url = url
        self.action = action
        self.idempotency_key = idempotency_key
        what = action or _("the write")
        if idempotency_key is not None:
            message = _(
                "database {url}: the connection was lost while committing {action}: it may or "
                "may not have been applied; send it again with the same idempotency key {key!r}, "
                "which applies it exactly once either way",
                url=url,
                action=what,
                key=idempotency_key,
            )
        else:
            message = _(
                "database {url}: the connection was lost while committing {action}: it may or "
                "may not have been applied; check the instance's history before sending it again",
                url=url,
                action=what,
            )
        super().__init__(message)


class AuditError(WorkflowError):
    """Audit verification found tampering; ``problems`` lists the first broken link per chain."""

    def __init__(self, problems: Sequence[object]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            ngettext(
                "audit verification failed for {count} chain",
                "audit verification failed for {count} chains",
                len(self.problems),
            )
        )


class DefinitionTampered(AuditError):
    """A stored definition's source no longer hashes to the content hash it was deployed with:
    the row was edited in the database. The engine refuses to compile (and so to run) it."""

    def __init__(self, workflow: str, version: int, recorded: str, found: str) -> None:
        self.workflow = workflow
        self.version = version
        self.recorded = recorded
        self.found = found
        self.problems = ()
        WorkflowError.__init__(
            self,
            _(
                "definition {workflow}@{version} was edited in the database: its source hashes "
                "to {found}..., not to the content hash {recorded}... it was deployed with; "
                "refusing to run it",
                workflow=workflow,
                version=version,
                found=found[:12],
                recorded=recorded[:12],
            ),
        )


class UnreadableRecord(AuditError):
    """A stored row of the log holds text that is not the JSON the engine wrote (edited by hand,
    or damaged): the row is named, and ``workflow audit verify`` says what else is broken."""

    def __init__(self, what: str, column: str) -> None:
        self.what = what
        self.column = column
        WorkflowError.__init__(
            self,
            _(
                "{what} is unreadable: its stored {column} is not valid JSON (the row was "
                "altered outside the engine); run `workflow audit verify` to check the log",
                what=what,
                column=column,
            ),
        )
        self.problems = (
            _("{what}: {column} is not valid JSON", what=what, column=column),
        )


class DeliveryFailed(WorkflowError):
    """A sink could not deliver an event (HTTP error, timeout, unwritable file); it is retried."""

    def __init__(self, sink: str, event_id: int, why: str) -> None:
        self.sink = sink
        self.event_id = event_id
        self.why = why
        super().__init__(
            _(
                "sink {sink!r} could not deliver event {event_id}: {why}",
                sink=sink,
                event_id=event_id,
                why=why,
            )
        )


class MigrationRefused(WorkflowError):
    """A migration would leave instances broken; ``problems`` names each one. Nothing changed."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = tuple(problems)
        detail = "".join(f"\n  {p}" for p in self.problems)
        super().__init__(message + detail)
