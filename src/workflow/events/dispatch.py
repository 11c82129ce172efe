"""Delivering the outbox: at least once, in order per instance, with retry, backoff and a lease.

A pass leases the oldest unsettled row of each instance (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite runs write transactions one at a time), commits, calls the matching handlers
outside any transaction, then settles each row: delivered, or back to pending after an
exponential backoff, or dead after :attr:`RetryPolicy.max_attempts` failures. An administrator
lists dead rows (:func:`list_events`) and re-queues them (:func:`retry_event`).

Handlers run only after the transition committed, so a handler that raises cannot undo it; it is
retried instead. They may see an event more than once (a crash between the call and the settle,
an expired lease, a sibling handler that failed): they deduplicate on :attr:`Event.id`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workflow.clock import require_aware
from workflow.engine import Engine
from workflow.errors import InvalidInput, NotFound, WorkflowError
from workflow.events.bus import Event, EventBus, event_from_row, without_credentials
from workflow.limits import check_row_id
from workflow.logs import get_logger
from workflow.records import FireResult
from workflow.store import outbox as rows
from workflow.store.mapping import by_name
from workflow.workers import (
    DEFAULT_LEASE,
    Counts,
    Requeue,
    claim,
    default_worker_id,
    poll_until_stopped,
    requeue,
)

log = get_logger("workflow.events")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how late a failing event is retried before it is declared dead.

    Attempt ``n`` (1-based) that fails is retried after ``base * 2**(n-1)``, at most ``cap``.
    """

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InvalidInput("max_attempts must be at least 1")
        if self.base <= timedelta(0) or self.cap < self.base:
            raise InvalidInput("the retry base must be positive and the cap at least the base")

    def delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt number ``attempt``."""
        # Past 2**20 the product only overflows; the cap has long been reached.
        return min(self.cap, self.base * (1 << min(max(attempt, 1) - 1, 20)))


@dataclass(frozen=True)
class DispatchRun(Counts):
    """What one call of :func:`dispatch_pending` did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    lost: int = 0


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as an administrator sees it."""

    id: int
    audit_id: int
    instance_id: int
    topic: str
    status: str
    attempts: int
    next_attempt_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def dispatch_pending(
    engine: Engine,
    bus: EventBus,
    *,
    now: datetime | None = None,
    worker_id: str | None = None,
    batch: int = 20,
    lease: timedelta = DEFAULT_LEASE,
    policy: RetryPolicy | None = None,
    instance_id: int | None = None,
) -> DispatchRun:
    """Deliver every row due at ``now`` (the engine's clock, read each round) until none is left.

    Each round leases at most one row per instance (the oldest unsettled one), so the rows of
    an instance reach the handlers in seq order even with several dispatchers at work.
    ``instance_id`` limits the pass to one instance. The lease must outlast the slowest handler:
    when it expires another dispatcher may deliver the same row again. Leases are reckoned on the
    engine's clock even when ``now`` is given (a chosen moment strands no row).
    """
    fixed = None if now is None else require_aware(now, "now")
    owner = worker_id or default_worker_id()
    retry = policy or RetryPolicy()
    total = DispatchRun()
    while True:
        # Read the clock each round: a long drain must not lease with a time already past.
        taken = claim(engine, owner=owner, now=fixed, lease=lease, limit=batch)
        with engine.transaction() as conn:
            ids = rows.claim_heads(conn, taken, instance_id)
            events = [event_from_row(r) for r in rows.event_rows(conn, ids)]
        if not events:
            return total
        failures = {event.id: _call_handlers(bus, event) for event in events}
        total += _settle(engine, events, failures, owner, taken.now, retry)


def publish(
    engine: Engine,
    bus: EventBus,
    result: FireResult,
    *,
    policy: RetryPolicy | None = None,
) -> DispatchRun:
    """Deliver the events of ``result``'s instance now, right after ``fire``/``start`` returned.

    The optional in-process fast path: the transition has committed, so the handlers see only
    what is durable. Nothing here raises for a failing handler: the row stays in the outbox and
    :func:`dispatch_pending` retries it. Earlier undelivered events of the instance go first.
    """
    try:
        return dispatch_pending(engine, bus, instance_id=result.instance.id, policy=policy)
    except WorkflowError as exc:
        # The transition is committed whatever happens here; the durable path will deliver.
        log.warning(
            "events.publish_deferred", instance=result.instance.id, error=type(exc).__name__
        )
        return DispatchRun()


def run_dispatcher(
    engine: Engine,
    bus: EventBus,
    stop_event: threading.Event,
    poll_interval: float = 2.0,
    *,
    worker_id: str | None = None,
    batch: int = 20,
    lease: timedelta = DEFAULT_LEASE,
    policy: RetryPolicy | None = None,
    on_pass: Callable[[DispatchRun], None] | None = None,
) -> DispatchRun:
    """Deliver due events until ``stop_event`` is set; returns the totals of the run.

    The timer worker's loop (:func:`workflow.workers.poll_until_stopped`): each pass is a
    :func:`dispatch_pending` that drains what is due, then the dispatcher waits
    ``poll_interval`` seconds (waking at once when stopped); a pass that fails on the database
    is logged and retried after the interval. ``on_pass`` sees each pass's :class:`DispatchRun`.
    """
    me = worker_id or default_worker_id()

    def one_pass() -> DispatchRun:
        return dispatch_pending(engine, bus, worker_id=me, batch=batch, lease=lease, policy=policy)

    log.info("dispatcher.started", worker=me, batch=batch, lease_s=lease.total_seconds())
    total = poll_until_stopped(
        one_pass,
        stop_event,
        poll_interval,
        worker=me,
        nothing=DispatchRun(),
        full=lambda _run: False,
        on_pass=on_pass,
    )
    log.info("dispatcher.stopped", worker=me, delivered=total.delivered, dead=total.dead)
    return total


def _call_handlers(bus: EventBus, event: Event) -> list[str]:
    """Call every handler matching the event; return what failed (empty when all succeeded)."""
    errors: list[str] = []
    for subscription in bus.matching(event.topic):
        try:
            subscription.handler(event)
        except Exception as exc:  # a handler is foreign code: any failure means "retry later"
            # recorded on the row and shown by `events list`: no credentials from a URL
            errors.append(without_credentials(f"{subscription.name}: {type(exc).__name__}: {exc}"))
            log.warning(
                "event.handler_failed",
                event_id=event.id,
                topic=event.topic,
                handler=subscription.name,
                attempt=event.attempt,
                error=type(exc).__name__,
            )
    return errors


def _settle(
    engine: Engine,
    events: list[Event],
    failures: dict[int, list[str]],
    owner: str,
    now: datetime,
    policy: RetryPolicy,
) -> DispatchRun:
    """Write the round's outcomes in one transaction (one statement for the delivered rows)."""
    ok = [e.id for e in events if not failures[e.id]]
    retrying = dead = lost = 0
    with engine.transaction() as conn:
        marked = rows.settle_delivered(conn, ok, owner, now)
        lost += len(ok) - len(marked)
        for event in events:
            errors = failures[event.id]
            if not errors:
                continue
            is_dead = event.attempt >= policy.max_attempts
            retry_at = now + policy.delay(event.attempt)
            if not rows.settle_failed(
                conn, event.id, owner, "; ".join(errors), dead=is_dead, retry_at=retry_at
            ):
                lost += 1
            elif is_dead:
                dead += 1
                log.error(
                    "event.dead", event_id=event.id, topic=event.topic, attempts=event.attempt
                )
            else:
                retrying += 1
    if lost:
        # Another dispatcher took these rows after our lease expired; it delivers them again.
        log.warning("event.lease_lost", count=lost, worker=owner)
    return DispatchRun(len(events), len(marked), retrying, dead, lost)


def list_events(
    engine: Engine,
    *,
    status: str | None = None,
    instance_id: int | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[OutboxEntry]:
    """Outbox rows, newest first; ``status="dead"`` lists the dead letters."""
    if status is not None and status not in rows.STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(rows.STATUSES)}")
    if instance_id is not None:
        check_row_id(instance_id, "instance id")
    with engine.read_transaction() as conn:
        found = rows.outbox_rows(
            conn, status=status, instance_id=instance_id, limit=limit, before_id=before_id
        )
    return [_entry(r) for r in found]


def committed_events(engine: Engine, *, after_id: int = 0, limit: int = 500) -> list[Event]:
    """Committed starts and transitions with an outbox id after ``after_id``, oldest first,
    whatever their delivery status: what a live stream (the service's server-sent events)
    sends. Ids are given in insert order and a transaction may commit after one that took a
    later id, so a reader looks back a little behind its last id (and skips what it sent)."""
    if after_id:
        check_row_id(after_id, "event id")
    with engine.read_transaction() as conn:
        ids = rows.ids_after(conn, after_id, limit)
        return [event_from_row(r) for r in rows.event_rows(conn, ids)] if ids else []


def get_event(engine: Engine, outbox_id: int) -> OutboxEntry:
    """One outbox row by id."""
    with engine.read_transaction() as conn:
        row = rows.outbox_row(conn, outbox_id)
    if row is None:
        raise NotFound("event", outbox_id)
    return _entry(row)


_EVENTS = Requeue(
    kind="event",
    read=rows.outbox_row,
    put_back=rows.requeue,
    detail=lambda row: {"topic": row.topic},
)


def retry_event(engine: Engine, outbox_id: int, *, by: str = "admin") -> OutboxEntry:
    """Re-queue a dead event for delivery now with a fresh count of attempts.

    Recorded in the administrators' hash chain. Only a dead event can be retried: a pending or
    leased one is already on its way, a delivered one is done.
    """
    return _entry(requeue(engine, _EVENTS, outbox_id, by))


def _entry(row: Any) -> OutboxEntry:
    # The record's fields are the outbox table's columns, name for name.
    return by_name(OutboxEntry, row)
