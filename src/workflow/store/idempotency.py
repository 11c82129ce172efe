"""Idempotency keys: each key is bound to the one request it first served.

A key is remembered with the request it came with, as parts (what was done, to which instance
or workflow, which trigger, by which actor, and SHA-256 digests of the payload or data and of the
reason) and a fingerprint of those parts (the SHA-256 of their canonical JSON). Payload and data
values are never stored here, only their digests, so naming the parts that differ never shows a
value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection, Row

from workflow.hashchain.encoding import canonical_json
from workflow.store.tables import idempotency_keys


def digest(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value`` (the audit log's encoding)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyedRequest:
    """An idempotency key and the request it is sent with."""

    key: str
    parts: Mapping[str, Any]

    @property
    def fingerprint(self) -> str:
        return digest(dict(self.parts))

    def differences(self, stored: Mapping[str, Any]) -> list[str]:
        """The names of the parts in which this request differs from the stored one."""
        names = dict.fromkeys([*self.parts, *stored])
        return [name for name in names if self.parts.get(name) != stored.get(name)]


def fire_request(
    key: str,
    instance_id: int,
    trigger: str,
    actor_id: str,
    payload: Mapping[str, Any],
    reason: str | None,
) -> KeyedRequest:
    """A fire as a key remembers it: the instance, trigger and actor, the payload and reason
    as digests. ``expected_version`` is a precondition of the first try, not part of it."""
    return KeyedRequest(
        key,
        {
            "operation": "fire",
            "instance": instance_id,
            "trigger": trigger,
            "actor": actor_id,
            "payload": digest(dict(payload)),
            "reason": digest(reason),
        },
    )


def start_request(
    key: str,
    workflow: str,
    actor_id: str,
    data: Mapping[str, Any],
    placement: Mapping[str, Any],
) -> KeyedRequest:
    """A start as a key remembers it: the workflow and actor, the data and where the instance
    belongs (unit, coordinating units, directive, item key, parent) as digests."""
    return KeyedRequest(
        key,
        {
            "operation": "start",
            "workflow": workflow,
            "actor": actor_id,
            "data": digest(dict(data)),
            "placement": digest(dict(placement)),
        },
    )


def placement(
    unit: str | None,
    coordinating_units: Sequence[str],
    directive_id: int | None,
    item_key: str | None,
    parent_id: int | None,
) -> dict[str, Any]:
    """Where a started instance belongs, as one value (a start request's ``placement``)."""
    return {
        "unit": unit,
        "coordinating_units": list(coordinating_units),
        "directive_id": directive_id,
        "item_key": item_key,
        "parent_id": parent_id,
    }


_BY_KEY = select(idempotency_keys).where(idempotency_keys.c.key == bindparam("key"))


def remembered(conn: Connection, key: str) -> Row[Any] | None:
    """The row of ``key`` (its instance, seq, request parts and fingerprint), if it was used."""
    return conn.execute(_BY_KEY, {"key": key}).first()


def remember(
    conn: Connection, request: KeyedRequest, instance_id: int, seq: int, now: datetime
) -> None:
    """Bind ``request.key`` to the transition it applied (a second writer of the key fails on
    the primary key: the engine reports that as a concurrent modification)."""
    conn.execute(
        insert(idempotency_keys).values(
            key=request.key,
            instance_id=instance_id,
            seq=seq,
            created_at=now,
            request=dict(request.parts),
            fingerprint=request.fingerprint,
        )
    )
