"""Retrying a unit of work that lost a race: capped exponential backoff with jitter.

The engine never retries on its own: a transition that lost a race was decided against a state
that no longer holds, and only the caller knows whether the move still makes sense. A caller who
knows it does wraps the *whole* read-decide-fire step in :func:`retry_on_conflict`::

    def approve() -> FireResult:
        current = engine.get(instance_id)                    # reload on every attempt
        return engine.fire(instance_id, "approve", actor, expected_version=current.version)

    result = retry_on_conflict(approve, attempts=5)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from workflow.errors import ConcurrentModification, InvalidInput

T = TypeVar("T")


def retry_on_conflict(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    backoff: float = 0.02,
    max_backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """Call ``fn()``; when it raises :class:`~workflow.ConcurrentModification`, wait and call again.

    Attempt ``n`` (from 1) that conflicts waits ``d/2 + jitter() * d/2`` seconds, where
    ``d = min(max_backoff, backoff * 2 ** (n - 1))``: doubling, capped, and spread so that the
    processes that collided do not collide again in step. After ``attempts`` calls the last
    ``ConcurrentModification`` is raised; any other error is raised at once, untouched.

    ``sleep`` and ``jitter`` (a function returning a number in [0, 1)) are injectable for tests.
    ``fn`` must reload what it decides on (for example the instance's version), or every retry
    repeats the same stale decision.
    """
    if attempts < 1:
        raise InvalidInput(f"attempts must be at least 1 (got {attempts})")
    if backoff < 0 or max_backoff < 0:
        raise InvalidInput("backoff and max_backoff must not be negative")
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except ConcurrentModification:
            if attempt == attempts:
                raise
            delay = min(max_backoff, backoff * 2 ** (attempt - 1))
            sleep(delay / 2 + jitter() * delay / 2)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
