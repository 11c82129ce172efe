"""What the long-running workers share: a worker's name, the lease default, a claim, the polling
loop and the re-queueing of a dead row.

The timer worker (:func:`workflow.timers.run_worker`) and the outbox dispatcher
(:func:`workflow.events.run_dispatcher`) each claim rows of a queue table under a lease, act on
them and settle them, in one vocabulary (:mod:`workflow.store.leases`). Both run
:func:`poll_until_stopped`: pass after pass until the caller's ``stop`` event is set, waiting
between passes that found less than a full batch, and riding out a pass that failed on the
database (a restart, a lost connection): its leases expire. The loop owns no signal handling;
the caller turns SIGINT/SIGTERM into ``stop.set()``.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Self, TypeVar

from workflow.engine import Engine
from workflow.errors import InvalidInput, NotFound, WorkflowError
from workflow.limits import check_row_id
from workflow.logs import get_logger
from workflow.store import Connection, DatabaseError, chain_writer
from workflow.store.leases import DEAD, Claim

log = get_logger("workflow.worker")

DEFAULT_LEASE = timedelta(minutes=5)
"""How long a worker holds what it claimed before another may take it; it must comfortably
exceed the time one batch takes."""

Run = TypeVar("Run", bound="Counts")


def default_worker_id() -> str:
    """``host:pid:random``: unique among live workers (two in one process too), and readable
    in ``timers list`` and ``events list``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(
    engine: Engine, *, owner: str, now: datetime | None, lease: timedelta, limit: int
) -> Claim:
    """A claim of at most ``limit`` rows due at ``now`` (default: the engine's clock, read now)
    for ``owner``. The lease runs ``lease`` from the engine's clock even when ``now`` is a chosen
    moment: a run at a simulated time (2099) strands nothing beyond its lease."""
    if limit < 1:
        raise InvalidInput(f"a batch is at least 1 row, not {limit}")
    if lease <= timedelta(0):
        raise InvalidInput("a lease must be longer than zero")
    clock = engine.now()
    return Claim(owner, clock if now is None else now, clock, clock + lease, limit)


@dataclass(frozen=True)
class Counts:
    """What a pass did, as counts that add up field by field over a run (the base of
    ``TimerRun`` and ``DispatchRun``)."""

    def __add__(self, other: Self) -> Self:
        return type(self)(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def poll_until_stopped(
    one_pass: Callable[[], Run],
    stop: threading.Event,
    poll_interval: float,
    *,
    worker: str,
    nothing: Run,
    full: Callable[[Run], bool],
    on_pass: Callable[[Run], None] | None = None,
) -> Run:
    """Run ``one_pass`` until ``stop`` is set and return the sum of the passes (from
    ``nothing``); after a pass that was not ``full`` (or failed on the database or the rules)
    wait ``poll_interval`` seconds, waking at once when stopped. ``on_pass`` sees each pass."""
    if poll_interval < 0:
        raise ValueError("poll_interval is a number of seconds, zero or more")
    total = nothing
    while not stop.is_set():
        try:
            run = one_pass()
        except (WorkflowError, DatabaseError) as exc:
            # Only the class: a database error's text can carry bound parameters (payload values).
            log.warning("worker.pass_failed", worker=worker, error=type(exc).__name__)
            stop.wait(poll_interval)
            continue
        total += run
        if on_pass is not None:
            on_pass(run)
        if not full(run):
            stop.wait(poll_interval)
    return total


@dataclass(frozen=True)
class Requeue:
    """How one queue puts a dead row back: ``read`` it by id (a row with a ``status``), why a
    dead row may still be refused (``refuse``: a reason or None), ``put_back`` (pending again),
    and the ``detail`` the administrators' log records."""

    kind: str
    read: Callable[[Connection, int], Any]
    put_back: Callable[[Connection, int, datetime], object]
    detail: Callable[[Any], Mapping[str, Any]]
    refuse: Callable[[Any], str | None] = lambda _row: None


def requeue(engine: Engine, queue: Requeue, row_id: int, by: str) -> Any:
    """Put a dead row of ``queue`` back in it, recorded in the administrators' hash chain as
    ``<kind>.retry``; what ``workflow timers retry`` and ``workflow events retry`` do. Returns
    the row as it is then.

    Raises :class:`~workflow.NotFound` for an unknown id and :class:`~workflow.InvalidInput`
    for a row that is not dead (or that ``queue.refuse`` refuses).
    """
    check_row_id(row_id, f"{queue.kind} id")
    now = engine.now()
    with engine.transaction() as conn:
        row = queue.read(conn, row_id)
        if row is None:
            raise NotFound(queue.kind, row_id)
        if row.status != DEAD:
            raise InvalidInput(
                f"{queue.kind} {row_id} is {row.status}, not {DEAD}: "
                f"only a {DEAD} {queue.kind} can be retried"
            )
        problem = queue.refuse(row)
        if problem is not None:
            raise InvalidInput(problem)
        queue.put_back(conn, row_id, now)
        chain_writer.append_admin_event(
            conn, f"{queue.kind}.retry", str(row_id), by, queue.detail(row), now
        )
        retried = queue.read(conn, row_id)
    log.info(f"{queue.kind}.requeued", id=row_id, by=by)
    return retried
