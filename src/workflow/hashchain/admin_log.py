"""The administrators' log (chain 0): its records as stored, their hashes, and its verification.

Its rows are not an instance's events: they are hashed in the audit event's encoding as events of
chain 0 (:data:`~workflow.hashchain.encoding.ADMIN_CHAIN`), and walked by seq alone (no instance
row heads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from workflow.hashchain.encoding import ADMIN_CHAIN, GENESIS, canonical_json, event_hash
from workflow.hashchain.keys import AuditKeys
from workflow.hashchain.report import ChainProblem
from workflow.hashchain.sealing import seal


def admin_record(
    *,
    seq: int,
    action: str,
    subject: str,
    actor: str,
    detail: Mapping[str, Any],
    occurred_at: datetime,
    prev_hash: str,
    keys: AuditKeys | None = None,
) -> dict[str, Any]:
    """An administrators' log event as stored (``detail`` as canonical text), sealed (under
    ``keys`` when given)."""
    row: dict[str, Any] = {
        "seq": seq,
        "action": action,
        "subject": subject,
        "actor": actor,
        "detail": canonical_json(dict(detail)),
        "occurred_at": occurred_at,
        "prev_hash": prev_hash,
    }
    return seal(row, as_event=_admin_as_event(row), keys=keys)


def admin_event_hash(
    *,
    seq: int,
    action: str,
    subject: str,
    actor: str,
    detail: str,
    occurred_at: datetime,
    prev_hash: str,
) -> str:
    """The hash of an administrators' log event: the audit encoding, as an event of chain 0
    (``kind`` the action, ``to_state`` the subject, ``payload`` the detail's canonical JSON)."""
    return event_hash(
        _admin_as_event(
            {
                "seq": seq,
                "action": action,
                "subject": subject,
                "actor": actor,
                "detail": detail,
                "occurred_at": occurred_at,
                "prev_hash": prev_hash,
            }
        )
    )


def _admin_as_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """An administrators' log row in the audit event's encoding, as an event of chain 0."""
    return {
        "instance_id": ADMIN_CHAIN,
        "seq": row["seq"],
        "kind": row["action"],
        "trigger": None,
        "from_state": None,
        "to_state": row["subject"],
        "actor": row["actor"],
        "actor_roles": "[]",
        "actor_unit": None,
        "reason": None,
        "payload": row["detail"],
        "data": "{}",
        "workflow": "",
        "definition_version": 0,
        "definition_hash": "",
        "occurred_at": row["occurred_at"],
        "prev_hash": row["prev_hash"],
    }


def verify_admin_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[int, ChainProblem | None]:
    """(events read, first broken link or None) of the administrators' log, rows by ``seq``."""
    count, prev = 0, GENESIS
    for row in rows:
        count += 1
        problem = _admin_link_problem(row, count, prev)
        if problem is not None:
            return count, problem
        prev = str(row["hash"])
    return count, None


def _admin_link_problem(row: Mapping[str, Any], expected: int, prev: str) -> ChainProblem | None:
    seq = int(row["seq"])
    if seq != expected:
        return ChainProblem(
            ADMIN_CHAIN, expected, f"expected event {expected}, found {seq} (an event is missing)"
        )
    if row["prev_hash"] != prev:
        return ChainProblem(ADMIN_CHAIN, seq, "prev_hash does not match the previous event's hash")
    fields = {k: row[k] for k in ("action", "subject", "actor", "detail", "occurred_at")}
    if admin_event_hash(seq=seq, prev_hash=prev, **fields) != row["hash"]:
        return ChainProblem(ADMIN_CHAIN, seq, "hash does not match the event's content (edited)")
    return None
