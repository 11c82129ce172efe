"""Start and fire: the verbs that move instances, each in one transaction (or one SAVEPOINT of
the application's), a request sent again with its idempotency key replayed, every outcome logged.

What a step decides and the rows it writes are :mod:`workflow._steps`'s; this module checks the
input, runs the step in its transaction and reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from workflow._idempotency import replay
from workflow._steps import Applied, FireRequest, StartRequest, fire_in, start_in, start_many_in
from workflow.clock import require_aware
from workflow.engine._definitions import Definitions
from workflow.engine._transactions import Within
from workflow.errors import (
    CommitOutcomeUnknown,
    ConcurrentModification,
    InvalidInput,
    NotFound,
    WorkflowError,
)
from workflow.hashchain.encoding import CHANNELS
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
from workflow.records import Actor, FireResult
from workflow.store import Connection
from workflow.store import repository as repo
from workflow.store.idempotency import (
    KeyedRequest,
    fire_request,
    placement,
    remember,
    remembered,
    start_request,
)
from workflow.store.mapping import to_event, to_instance

log = get_logger("workflow")


class Transitions(Definitions):
    """Starting and firing instances."""

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


def _must(row: Any) -> Any:
    if row is None:  # pragma: no cover - rows read back inside their own transaction exist
        raise NotFound("row", "just written")
    return row


def check_channel(channel: str | None) -> str | None:
    """``channel`` when it is None or one of :data:`~workflow.hashchain.encoding.CHANNELS`."""
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
