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
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from workflow.errors import WorkflowError
from workflow.logs import get_logger
from workflow.store import DatabaseError

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
