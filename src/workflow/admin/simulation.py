"""Simulation databases: the only ones whose events may be dated by a chosen time.

On a production database every event is dated by the engine's clock. A run at a chosen moment
(``workflow timers run --once --now T``) replays time, so it is refused there: an operator must
not be able to stamp production events with times of their choosing. A database is marked as a
simulation by an event in the administrators' log (``simulation.mark``, with who marked it),
which is hash-chained and append-only: the mark cannot be removed or backdated, and every reader
of the log sees it. ``workflow demo`` marks the database it creates.
"""

from __future__ import annotations

from workflow.engine import Engine
from workflow.errors import NotASimulation
from workflow.logs import get_logger
from workflow.store import chain_writer
from workflow.store import repository as repo
from workflow.store.transactions import read_transaction

log = get_logger("workflow.admin")

SIMULATION_MARK = "simulation.mark"
"""The administrators' log action that marks a database as a simulation."""


def is_simulation(engine: Engine) -> bool:
    """Whether the database is marked as a simulation."""
    with read_transaction(engine.db) as conn:
        return repo.admin_action_recorded(conn, SIMULATION_MARK)


def mark_simulation(engine: Engine, *, by: str = "admin") -> bool:
    """Mark the database as a simulation (recorded in the administrators' log, for good);
    False if it already was."""
    now = engine.now()
    with engine.transaction() as conn:
        if repo.admin_action_recorded(conn, SIMULATION_MARK):
            return False
        detail = {"allows": "events dated by a chosen time"}
        chain_writer.append_admin_event(conn, SIMULATION_MARK, "database", by, detail, now)
    log.info("database.marked_simulation", by=by)
    return True


def require_simulation(
    engine: Engine, what: str = "a chosen time", how: str = "mark_simulation"
) -> None:
    """Refuse ``what`` (a chosen time) with :class:`~workflow.NotASimulation` unless the
    database is marked as a simulation; ``how`` says how to mark one, in the caller's words."""
    if not is_simulation(engine):
        raise NotASimulation(what, how)
