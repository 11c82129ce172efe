"""What the long-running workers share: a worker's name, the lease default, the polling loop.

The timer worker (:func:`workflow.run_worker`) and the outbox dispatcher
(:func:`workflow.run_dispatcher`) each claim rows of a queue table under a lease, act on them
and settle them. Both run :func:`poll_until_stopped`: pass after pass until the caller's
``stop`` event is set, waiting between passes that found less than a full batch, and riding out
a pass that failed on the database (a restart, a lost connection): its claims expire with their
lease. The loop owns no signal handling; the caller turns SIGINT/SIGTERM into ``stop.set()``.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from workflow.engine import Engine
from workflow.errors import InvalidInput, NotFound, WorkflowError
from workflow.logs import get_logger
from workflow.store import Connection, DatabaseError, chain_writer

log = get_logger("workflow.worker")

DEFAULT_LEASE = timedelta(minutes=5)
"""How long a worker holds what it claimed before another may take it; it must comfortably
exceed the time one batch takes."""

Run = TypeVar("Run")


def default_worker_id() -> str:
    """``host:pid:random``: unique among live workers (two in one process too), and readable
    in ``timers list`` and ``events list``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def poll_until_stopped(
    one_pass: Callable[[], Run],
    stop: threading.Event,
    poll_interval: float,
    *,
    worker: str,
    full: Callable[[Run], bool],
    on_pass: Callable[[Run], None],
) -> None:
    """Run ``one_pass`` until ``stop`` is set; after a pass that was not ``full`` (or failed on
    the database or the rules) wait ``poll_interval`` seconds, waking at once when stopped."""
    if poll_interval < 0:
        raise ValueError("poll_interval is a number of seconds, zero or more")
    while not stop.is_set():
        try:
            run = one_pass()
        except (WorkflowError, DatabaseError) as exc:
            # Only the class: a database error's text can carry bound parameters (payload values).
            log.warning("worker.pass_failed", worker=worker, error=type(exc).__name__)
            stop.wait(poll_interval)
            continue
        on_pass(run)
        if not full(run):
            stop.wait(poll_interval)


@dataclass(frozen=True)
class Requeue:
    """How one queue puts a parked row back: ``read`` it by id (a row with a ``status``), which
    status is ``parked``, why a parked row may still be refused (``refuse``: a reason or None),
    ``put_back`` (pending again), and the ``detail`` the administrators' log records."""

    kind: str
    parked: str
    read: Callable[[Connection, int], Any]
    put_back: Callable[[Connection, int, datetime], object]
    detail: Callable[[Any], Mapping[str, Any]]
    refuse: Callable[[Any], str | None] = lambda _row: None


def requeue(engine: Engine, queue: Requeue, row_id: int, by: str) -> None:
    """Put a parked row of ``queue`` back in it, recorded in the administrators' hash chain as
    ``<kind>.retry``; what ``workflow timers retry`` and ``workflow events retry`` do.

    Raises :class:`~workflow.NotFound` for an unknown id and :class:`~workflow.InvalidInput`
    for a row that is not parked (or that ``queue.refuse`` refuses).
    """
    now = engine.now()
    with engine.transaction() as conn:
        row = queue.read(conn, row_id)
        if row is None:
            raise NotFound(queue.kind, row_id)
        if row.status != queue.parked:
            raise InvalidInput(
                f"{queue.kind} {row_id} is {row.status}, not {queue.parked}: "
                f"only a {queue.parked} {queue.kind} can be retried"
            )
        problem = queue.refuse(row)
        if problem is not None:
            raise InvalidInput(problem)
        queue.put_back(conn, row_id, now)
        chain_writer.append_admin_event(
            conn, f"{queue.kind}.retry", str(row_id), by, queue.detail(row), now
        )
    log.info(f"{queue.kind}.requeued", id=row_id, by=by)
