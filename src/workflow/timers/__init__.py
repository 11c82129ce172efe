"""Timers: durable deadlines and reminders, claimed with a lease and fired exactly once.

The engine writes and cancels timer rows inside each transition; this package is the other
half: :mod:`~workflow.timers.claims` claims due rows and fires each as ``system:timer``,
:mod:`~workflow.timers.worker` runs that in a loop for a long-lived process, and
:mod:`~workflow.timers.deadlines` lists the live instances that are overdue or due soon. See
``docs/timers.md``.
"""

from __future__ import annotations

from workflow.timers.claims import (
    TimerInfo,
    TimerRun,
    claim_due,
    drain_due_timers,
    fire_claimed,
    list_timers,
    retry_timer,
    run_due_timers,
)
from workflow.timers.deadlines import due_instances
from workflow.timers.worker import run_worker

__all__ = [
    "TimerInfo",
    "TimerRun",
    "claim_due",
    "drain_due_timers",
    "due_instances",
    "fire_claimed",
    "list_timers",
    "retry_timer",
    "run_due_timers",
    "run_worker",
]
