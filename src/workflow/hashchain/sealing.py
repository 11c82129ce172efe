"""A chain's row given the fields that prove it, and an instance's audit event as stored.

Separate from the encoding because sealing is where the hash meets the audit keys: every row of
every chain is sealed here and nowhere else before the writer stores it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from workflow.hashchain.encoding import canonical_json, event_hash
from workflow.hashchain.keys import AuditKeys


def seal(
    row: dict[str, Any],
    *,
    as_event: Mapping[str, Any] | None = None,
    keys: AuditKeys | None = None,
) -> dict[str, Any]:
    """Give a chain's row (its fields as stored) the fields that prove it: its ``hash``, and
    under the audit ``keys`` its ``key_id`` and ``mac`` (an HMAC-SHA256 of the hash; both null
    without keys).

    Every row of every chain, the administrators' log included, is sealed here and nowhere
    else before the writer stores it, in the transaction that writes it.
    ``as_event`` is the row in the audit event's encoding when it is not an instance's event.
    """
    row["hash"] = digest = event_hash(row if as_event is None else as_event)
    row["key_id"], row["mac"] = (None, None) if keys is None else keys.seal(digest)
    return row


def audit_record(
    *,
    instance_id: int,
    seq: int,
    kind: str,
    trigger: str | None,
    from_state: str | None,
    to_state: str,
    actor: str,
    actor_roles: Iterable[str],
    actor_unit: str | None,
    reason: str | None,
    payload: Mapping[str, Any] | str,
    data: Mapping[str, Any],
    workflow: str,
    definition_version: int,
    definition_hash: str,
    occurred_at: datetime,
    prev_hash: str,
    keys: AuditKeys | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """An instance's audit event as stored (JSON fields as canonical text), sealed (under
    ``keys`` when given); ``channel`` is hashed only when given
    (:data:`~workflow.hashchain.encoding.CHANNELS`). A ``payload`` given as text is its
    canonical JSON already (``limits.check_json_object`` returns it)."""
    return seal(
        {
            "instance_id": instance_id,
            "seq": seq,
            "kind": kind,
            "trigger": trigger,
            "from_state": from_state,
            "to_state": to_state,
            "actor": actor,
            "actor_roles": canonical_json(sorted(actor_roles)),
            "actor_unit": actor_unit,
            "reason": reason,
            "payload": payload if isinstance(payload, str) else canonical_json(dict(payload)),
            "data": canonical_json(dict(data)),
            "workflow": workflow,
            "definition_version": definition_version,
            "definition_hash": definition_hash,
            "occurred_at": occurred_at,
            "prev_hash": prev_hash,
            "channel": channel,
        },
        keys=keys,
    )
