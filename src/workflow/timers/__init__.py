"""Timers: durable deadlines and reminders, claimed with a lease and fired exactly once.

The engine writes and cancels timer rows inside each transition; this package is the other
half: :mod:`~workflow.timers.claims` claims due rows and fires each as ``system:timer``,
:mod:`~workflow.timers.worker` runs that in a loop for a long-lived process, and
:mod:`~workflow.timers.deadlines` lists the live instances that are overdue or due soon. See
``docs/timers.md``.
"""
