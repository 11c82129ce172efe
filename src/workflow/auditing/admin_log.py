"""The administrators' log: who deployed, retired, disabled, migrated, retried or pruned what.

Its own hash chain (chain 0 of the audit encoding, ``audit.admin_event_hash``), appended in the
same transaction as each administrative change; read and verified here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow.auditing.checkpoints import Checkpoint, CheckpointCheck
from workflow.auditing.export import ADMIN_EXPORT_FIELDS
from workflow.engine import Engine
from workflow.hashchain.admin_log import verify_admin_rows
from workflow.hashchain.encoding import ADMIN_CHAIN, format_instant
from workflow.hashchain.report import ChainProblem
from workflow.store import repository as repo
from workflow.store.mapping import stored_json


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
    """How many events the administrators' log holds, and what is wrong with it: its first
    broken link, and (against a checkpoint) a tail cut off or a rewrite since."""

    events: int
    problems: tuple[ChainProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def admin_log(engine: Engine, *, limit: int = 100) -> list[AdminEvent]:
    """The latest ``limit`` administrative changes, newest first."""
    with engine.read_transaction() as conn:
        rows = list(repo.admin_event_rows(conn, newest_first=True, limit=limit))
    return [
        AdminEvent(
            seq=int(r["seq"]),
            action=r["action"],
            subject=r["subject"],
            actor=r["actor"],
            detail=stored_json(r["detail"], f"administrators' log event {r['seq']}", "detail"),
            occurred_at=r["occurred_at"],
            prev_hash=r["prev_hash"],
            hash=r["hash"],
        )
        for r in rows
    ]


def admin_log_records(engine: Engine) -> Iterator[dict[str, Any]]:
    """The whole administrators' log, oldest first, as export records
    (:data:`~workflow.auditing.export.ADMIN_EXPORT_FIELDS`)."""
    with engine.read_transaction() as conn:
        for row in repo.admin_event_rows(conn):
            record = {name: row[name] for name in ADMIN_EXPORT_FIELDS}
            record["occurred_at"] = format_instant(row["occurred_at"])
            yield record


def verify_admin_log(engine: Engine, checkpoint: Checkpoint | None = None) -> AdminLogVerification:
    """Walk the administrators' chain: every event present, linked and unedited; with a
    checkpoint that recorded it, also not cut short nor rewritten since."""
    with engine.read_transaction() as conn:
        return verify_admin_records(repo.admin_event_rows(conn), checkpoint)


def verify_admin_records(
    records: Iterable[Mapping[str, Any]], checkpoint: Checkpoint | None = None
) -> AdminLogVerification:
    """:func:`verify_admin_log` over rows or export records of the log, oldest first."""
    check = None if checkpoint is None else CheckpointCheck(checkpoint, only=[ADMIN_CHAIN])

    def fed() -> Iterator[Mapping[str, Any]]:
        for row in records:
            if check is not None:
                check.feed({"instance_id": ADMIN_CHAIN, "seq": row["seq"], "hash": row["hash"]})
            yield row

    events, problem = verify_admin_rows(fed())
    found = [] if problem is None else [problem]
    if check is not None and problem is None:
        found.extend(check.problems())
    return AdminLogVerification(events, tuple(found))
