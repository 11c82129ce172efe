"""Test-only crash hooks: SIGKILL this process at a chosen point inside ``Engine.fire``.

Nothing here touches production code paths: :func:`install` wraps the store function that writes
a transition (and listens to the engine's commit event) in *this* process only, and
does nothing until :meth:`Trap.arm` is called just before the fire that must die.

Points, in the order a fire reaches them:

- ``before_flush``: every read and decision is done, nothing is written yet;
- ``between_update_and_audit``: on SQLite the instance row is updated and its audit row not
  inserted (the driver's trace callback kills the process as the INSERT is about to run); on
  PostgreSQL both are one statement, so a thread kills the process within a few milliseconds of
  sending it, landing before, inside or after the statement;
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
from sqlalchemy.engine import Connection

from workflow import Engine
from workflow.store import chain_writer

POINTS = ("before_flush", "between_update_and_audit", "before_commit", "during_commit", "anywhere")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _die_soon(rng: random.Random, within_s: float) -> None:
    delay = rng.uniform(0, within_s)

    def kill() -> None:
        time.sleep(delay)  # the harness's only timing: where the kill lands is the point
        die()

    threading.Thread(target=kill, daemon=True).start()


def _die_at_audit_insert(statement: str) -> None:
    if statement.startswith("INSERT INTO audit_events"):
        die()


class Trap:
    """One crash point in one process; inert until armed."""

    def __init__(self, point: str, engine: Engine, rng: random.Random) -> None:
        if point not in POINTS:
            raise ValueError(f"unknown crash point {point!r}; known: {', '.join(POINTS)}")
        self.point = point
        self.rng = rng
        self.armed = False
        self._wrap_write()
        event.listen(engine.db, "commit", self._on_commit)

    def arm(self) -> None:
        self.armed = True
        if self.point == "anywhere":
            _die_soon(self.rng, 0.02)

    def _wrap_write(self) -> None:
        original = chain_writer.write_step

        def wrapper(conn: Connection, step: chain_writer.Step) -> int | None:
            if self.armed and self.point == "before_flush":
                die()
            if self.armed and self.point == "between_update_and_audit":
                if conn.dialect.name == "sqlite":
                    conn.connection.driver_connection.set_trace_callback(_die_at_audit_insert)
                else:
                    _die_soon(self.rng, 0.003)
            return original(conn, step)

        chain_writer.write_step = wrapper  # type: ignore[assignment]

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
