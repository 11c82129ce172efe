"""Test-only crash hooks: SIGKILL this process at a chosen point inside ``Engine.fire``.

Nothing here touches production code paths: :func:`install` wraps the repository functions the
fire transaction calls (and listens to the engine's commit event) in *this* process only, and
does nothing until :meth:`Trap.arm` is called just before the fire that must die.

Points, in the order a fire reaches them:

- ``before_flush``: every read and decision is done, nothing is written yet;
- ``between_update_and_audit``: the instance row is updated, its audit row is not inserted;
- ``before_commit``: every row is written, COMMIT not yet sent;
- ``during_commit``: a thread kills the process within a few milliseconds of COMMIT being sent,
  so the kill lands before, inside or just after the commit;
- ``anywhere``: a thread kills the process at a random moment while it keeps firing.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from typing import Any

from sqlalchemy import event

from workflow import Engine
from workflow.store import repository

POINTS = ("before_flush", "between_update_and_audit", "before_commit", "during_commit", "anywhere")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _die_soon(rng: random.Random, within_s: float) -> None:
    delay = rng.uniform(0, within_s)

    def kill() -> None:
        time.sleep(delay)  # the harness's only timing: where the kill lands is the point
        die()

    threading.Thread(target=kill, daemon=True).start()


class Trap:
    """One crash point in one process; inert until armed."""

    def __init__(self, point: str, engine: Engine, rng: random.Random) -> None:
        if point not in POINTS:
            raise ValueError(f"unknown crash point {point!r}; known: {', '.join(POINTS)}")
        self.point = point
        self.rng = rng
        self.armed = False
        self._wrap("update_instance", "before_flush")
        self._wrap("insert_audit", "between_update_and_audit")
        event.listen(engine.db, "commit", self._on_commit)

    def arm(self) -> None:
        self.armed = True
        if self.point == "anywhere":
            _die_soon(self.rng, 0.02)

    def _wrap(self, name: str, point: str) -> None:
        original = getattr(repository, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self.armed and self.point == point:
                die()
            return original(*args, **kwargs)

        setattr(repository, name, wrapper)

    def _on_commit(self, _connection: Any) -> None:
        if not self.armed:
            return
        if self.point == "before_commit":
            die()
        if self.point == "during_commit":
            _die_soon(self.rng, 0.003)


def install(point: str, engine: Engine, rng: random.Random) -> Trap:
    """Install the crash point ``point`` for ``engine`` in this process (call it after fork)."""
    return Trap(point, engine, rng)
