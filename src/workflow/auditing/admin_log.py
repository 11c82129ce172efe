"""The administrators' log: who deployed, retired, disabled, migrated, retried or pruned what.

Its own hash chain (chain 0 of the audit encoding, ``audit.admin_event_hash``), appended in the
same transaction as each administrative change; read and verified here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from workflow.audit import ChainProblem, verify_admin_rows
from workflow.engine import Engine
from workflow.store import repository as repo
from workflow.store.database import read_transaction


@dataclass(frozen=True)
class AdminEvent:
    """One administrative change, as recorded."""

    seq: int
    action: str
    subject: str
    actor: str
    detail: dict[str, Any]
    occurred_at: datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AdminLogVerification:
    """How many events the administrators' log holds, and its first broken link if any."""

    events: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def admin_log(engine: Engine, *, limit: int = 100) -> list[AdminEvent]:
    """The latest ``limit`` administrative changes, newest first."""
    with read_transaction(engine.db) as conn:
        rows = list(islice(repo.admin_event_rows(conn, newest_first=True), limit))
    return [
        AdminEvent(
            seq=int(r["seq"]),
            action=r["action"],
            subject=r["subject"],
            actor=r["actor"],
            detail=json.loads(r["detail"]),
            occurred_at=r["occurred_at"],
            prev_hash=r["prev_hash"],
            hash=r["hash"],
        )
        for r in rows
    ]


def verify_admin_log(engine: Engine) -> AdminLogVerification:
    """Walk the administrators' chain: every event present, linked and unedited."""
    with read_transaction(engine.db) as conn:
        events, problem = verify_admin_rows(repo.admin_event_rows(conn))
    return AdminLogVerification(events, problem)
