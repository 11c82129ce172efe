"""How long delivered events stay: pruning the outbox of rows already delivered.

Every transition writes an outbox row, so the table grows with the audit log; once delivered a
row has done its work (the audit log keeps the transition for ever). Pending, leased and dead
rows are never pruned: they are work still to do or to look at.
"""

from __future__ import annotations

from datetime import datetime

from workflow.clock import require_aware
from workflow.engine import Engine
from workflow.errors import InvalidInput
from workflow.logs import get_logger
from workflow.store import chain_writer
from workflow.store import outbox as rows

log = get_logger("workflow.events")

PRUNE_BATCH = 5_000
"""Rows deleted per transaction, so that pruning a large backlog never holds a long lock."""


def prune_delivered(engine: Engine, *, before: datetime, by: str = "admin") -> int:
    """Delete the outbox rows delivered before ``before``; the number deleted.

    Runs in batches of :data:`PRUNE_BATCH` rows, each its own transaction; the whole pruning is
    recorded once in the administrators' hash chain.
    """
    cutoff = require_aware(before, "before")
    if cutoff > engine.now():
        raise InvalidInput(f"before {cutoff.isoformat()} is in the future")
    deleted = 0
    while True:
        with engine.transaction() as conn:
            batch = rows.delete_delivered(conn, cutoff, PRUNE_BATCH)
        deleted += batch
        if batch < PRUNE_BATCH:
            break
    with engine.transaction() as conn:
        chain_writer.append_admin_event(
            conn,
            "events.prune",
            cutoff.isoformat(),
            by,
            {"deleted": deleted},
            engine.now(),
        )
    log.info("events.pruned", before=cutoff.isoformat(), deleted=deleted, by=by)
    return deleted
