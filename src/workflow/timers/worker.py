"""The long-running timer worker: poll, claim, fire, and stop cleanly when asked.

The loop is :func:`workflow.workers.poll_until_stopped`, the outbox dispatcher's too: when the
stop event is set the timer in hand is finished, the rest of the claim is handed back for other
workers, and :func:`run_worker` returns what it did.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from workflow.engine import Engine
from workflow.logs import get_logger
from workflow.timers.claims import NOTHING, TimerRun, run_due_timers
from workflow.workers import DEFAULT_LEASE, default_worker_id, poll_until_stopped

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
    me = worker_id or default_worker_id()

    def one_pass() -> TimerRun:
        return run_due_timers(engine, worker_id=me, limit=batch, lease=lease, stop=stop_event)

    def logged(run: TimerRun) -> None:
        if run.claimed:
            log.info("worker.pass", worker=me, fired=run.fired, dead=run.dead)

    log.info("worker.started", worker=me, batch=batch, lease_s=lease.total_seconds())
    total = poll_until_stopped(
        one_pass,
        stop_event,
        poll_interval,
        worker=me,
        nothing=NOTHING,
        full=lambda run: run.claimed >= batch,
        on_pass=logged,
    )
    log.info("worker.stopped", worker=me, fired=total.fired, released=total.released)
    return total
