"""The long-running timer worker: poll, claim, fire, and stop cleanly when asked.

The loop owns no signal handling (the CLI turns SIGINT/SIGTERM into ``stop_event.set()``): when the
event is set the timer in hand is finished, the rest of the claim is handed back for other
workers, and :func:`run_worker` returns what it did.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from workflow.engine import Engine
from workflow.errors import WorkflowError
from workflow.logs import get_logger
from workflow.store import DatabaseError
from workflow.timers.claims import (
    DEFAULT_LEASE,
    NOTHING,
    TimerRun,
    default_worker_id,
    run_due_timers,
)

log = get_logger("workflow.worker")


def run_worker(
    engine: Engine,
    stop_event: threading.Event,
    poll_interval: float = 1.0,
    *,
    worker_id: str | None = None,
    batch: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> TimerRun:
    """Fire due timers until ``stop_event`` is set; returns the totals of the run.

    Each pass reads the engine's clock, claims up to ``batch`` due timers under ``lease`` and
    fires them; when a pass finds fewer than ``batch`` the worker waits ``poll_interval`` seconds
    (waking at once when stopped). A pass that fails on the database (a restart, a lost
    connection) is logged and retried after the interval; claims it held expire with their lease.
    The lease must comfortably exceed the time to fire one batch.
    """
    if poll_interval < 0:
        raise ValueError("poll_interval is a number of seconds, zero or more")
    me = worker_id or default_worker_id()
    total = NOTHING
    log.info("worker.started", worker=me, batch=batch, lease_s=lease.total_seconds())
    while not stop_event.is_set():
        try:
            run = run_due_timers(engine, worker_id=me, limit=batch, lease=lease, stop=stop_event)
        except (WorkflowError, DatabaseError) as exc:
            # Only the class: a database error's text can carry bound parameters (payload values).
            log.warning("worker.pass_failed", worker=me, error=type(exc).__name__)
            stop_event.wait(poll_interval)
            continue
        total += run
        if run.claimed:
            log.info("worker.pass", worker=me, fired=run.fired, failed=run.failed)
        if run.claimed < batch:
            stop_event.wait(poll_interval)
    log.info("worker.stopped", worker=me, fired=total.fired, released=total.released)
    return total
