"""The hash material: how an audit event is spelled before it is hashed, and its hash.

Canonical JSON, the one spelling of an instant, the fields an event's hash covers and the chain's
first link. Separate because every other part of the chain (the seal, the administrators' log,
the verifiers, the exports) spells events this one way, and must agree to the byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from workflow.limits import CANONICAL_ENCODER

GENESIS = "0" * 64
# json's own string encoder (C) with ensure_ascii=False: the spelling canonical_json gives (the
# verifier spells the driver's raw rows with it too).
encode_str: Callable[[str], str] = json.encoder.encode_basestring

HASHED_FIELDS = (
    "instance_id",
    "seq",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "actor_roles",
    "actor_unit",
    "reason",
    "payload",
    "data",
    "workflow",
    "definition_version",
    "definition_hash",
    "occurred_at",
    "prev_hash",
)
OPTIONAL_HASHED_FIELDS = ("channel",)
"""Hashed when not null, left out of the hash material when null: ``channel`` (``api``, ``web``,
``cli``: where a transition came from) was added after events had been written without it, which
keep their hashes. Setting, changing or removing one on a stored event breaks its hash."""
CHANNELS = ("api", "web", "cli")
"""The channels an audit event may name (null: not said, as by an embedding application)."""


_make_encoder: Callable[..., Callable[[Any, int], tuple[str, ...]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text kept as is: one byte string per value."""
    if _make_encoder is None or isinstance(value, str):
        return CANONICAL_ENCODER.encode(value)
    # What JSONEncoder.encode does for these settings, without rebuilding its Python-level
    # closures on every call (a quarter of the cost of a small object's encoding).
    encode = _make_encoder(
        {}, CANONICAL_ENCODER.default, encode_str, None, ":", ",", True, False, False
    )
    return "".join(encode(value, 0))


def format_instant(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: the one spelling of an instant inside a hash."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # Same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ") (years 1000-9999), without its cost.
    if moment.year < 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{moment.isoformat(timespec='microseconds')[:26]}Z"


# The hashed fields in canonical (sorted) order, each with its ``"name":`` prefix; the
# optional ones among them are left out when null.
_SORTED_FIELDS = tuple(
    (name, encode_str(name) + ":", name in OPTIONAL_HASHED_FIELDS)
    for name in sorted((*HASHED_FIELDS, *OPTIONAL_HASHED_FIELDS))
)


def _material_json(row: Mapping[str, Any]) -> str:
    """``canonical_json`` of the hashed fields, written field by field.

    The fields are text, whole numbers or null, so the object can be spelled directly (about
    three times faster than ``json.dumps`` with sorted keys); any other value goes through
    ``canonical_json``, which keeps the bytes identical whatever the row holds.
    """
    parts = []
    for name, prefix, optional in _SORTED_FIELDS:
        if optional:
            value = row.get(name)
            if value is None:
                continue
        else:
            value = row[name]
        kind = type(value)
        if kind is str:
            parts.append(prefix + encode_str(value))
        elif value is None:
            parts.append(prefix + "null")
        elif kind is int:
            parts.append(prefix + int.__repr__(value))
        elif name == "occurred_at" and isinstance(value, datetime):
            parts.append(prefix + encode_str(format_instant(value)))
        else:
            parts.append(prefix + canonical_json(value))
    return "{" + ",".join(parts) + "}"


def event_hash(row: Mapping[str, Any]) -> str:
    """The SHA-256 of an audit row's hashed fields (``payload`` and ``data`` as stored text)."""
    return hashlib.sha256(_material_json(row).encode("utf-8")).hexdigest()


ADMIN_CHAIN = 0
"""The administrators' log is chain 0: no instance has id 0, and its rows hash as instance 0."""
