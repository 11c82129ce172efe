"""The lease queues' one vocabulary: the timers and the outbox claim, hold and park rows alike.

A worker *claims* due rows: each becomes ``leased`` to it, with its name in ``lease_owner`` and
the moment another worker may take the row again in ``lease_expires_at``. It then settles each
row (fired or delivered), hands it back (``pending``), or parks it as ``dead``: no worker takes
it again until an administrator re-queues it (``workflow timers retry``, ``workflow events
retry``).

Why these words and not the timers' former ``claimed``/``claimed_by``/``failed``: the column
holding the deadline was ``lease_expires_at`` in both tables already, and the option and default
are a lease (``--lease``, :data:`workflow.workers.DEFAULT_LEASE`); "leased to its owner until it
expires" says what the row is, where "claimed" says only how it got there. ``dead`` is the
queue's usual word (a dead letter) for a row no worker will take again, whether one refusal put
it there (a timer) or too many failed attempts (an event); ``failed`` also named a count of
attempts. Migration 0005 renamed the timers' column and statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, update
from sqlalchemy.engine import Connection

PENDING = "pending"
LEASED = "leased"
DEAD = "dead"
MAX_ERROR_CHARS = 2000
"""The longest reason kept on a row (``last_error``)."""

UNLEASED: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
"""The values that end a lease, whatever the row becomes."""


@dataclass(frozen=True)
class Claim:
    """One claim on a queue: rows due at ``now`` (which may be a chosen moment), leased to
    ``owner`` until ``until``; a lease counts as expired by ``clock``, the engine's clock (a
    lease is never reckoned on a chosen moment), and at most ``limit`` rows are taken."""

    owner: str
    now: datetime
    clock: datetime
    until: datetime
    limit: int


def expired(table: Table, clock: datetime) -> Any:
    """Rows leased under a lease that ran out by ``clock``: any worker may claim them."""
    return and_(table.c.status == LEASED, table.c.lease_expires_at < clock)


def held_by(table: Table, owner: str) -> Any:
    """Rows ``owner`` still holds: leased, and not taken by another worker since."""
    return and_(table.c.status == LEASED, table.c.lease_owner == owner)


def lease(conn: Connection, table: Table, ids: Sequence[int], claim: Claim) -> None:
    """Lease the rows ``ids`` to the claim's owner, counting one more attempt on each."""
    if ids:
        conn.execute(
            update(table)
            .where(table.c.id.in_(list(ids)))
            .values(
                status=LEASED,
                lease_owner=claim.owner,
                lease_expires_at=claim.until,
                attempts=table.c.attempts + 1,
            )
        )


def reason(error: str) -> str:
    """``error`` cut to what a row keeps."""
    return error[:MAX_ERROR_CHARS]
