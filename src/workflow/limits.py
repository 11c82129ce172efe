"""Limits on caller-supplied text, checked before anything reaches the database.

The same value must be accepted or refused on SQLite and on PostgreSQL alike. PostgreSQL ``TEXT``
cannot hold a NUL character and ``VARCHAR(n)`` refuses longer values, while SQLite stores either;
so identifiers and reasons are checked here, at the boundary, and refused with
:class:`~workflow.InvalidInput` on both backends. Payload and data values are JSON: a NUL inside
them is stored as the escape ``\\u0000`` and read back unchanged, so they are not restricted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from workflow.errors import InvalidInput, NotFound

MAX_ACTOR_ID_CHARS = 200
MAX_UNIT_CHARS = 100
MAX_ITEM_KEY_CHARS = 100
MAX_IDEMPOTENCY_KEY_CHARS = 200
MAX_NAME_CHARS = 200
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_REASON_CHARS = 4000
MAX_INSTANCE_ID = 2**63 - 1


def check_text(value: object, what: str, max_chars: int | None = None) -> str:
    """``value`` if it is storable text: a str, valid UTF-8, no NUL, at most ``max_chars`` long."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain a NUL character (\\x00)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid Unicode text (lone surrogate)") from None
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInput(f"{what} is longer than {max_chars} characters")
    return value


def check_optional(value: object, what: str, max_chars: int | None = None) -> str | None:
    """Like :func:`check_text`, with None allowed."""
    return None if value is None else check_text(value, what, max_chars)


def check_instance_id(value: object) -> int:
    """A whole number; ids no database could hold are simply not found."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"instance id {value!r} is not a whole number")
    if not 0 < value <= MAX_INSTANCE_ID:
        raise NotFound("instance", value)
    return value


def check_reason(reason: object) -> str | None:
    """A reason is read by people: text, at most :data:`MAX_REASON_CHARS`, no NUL.

    A NUL is refused, not escaped: PostgreSQL TEXT cannot store it, so both backends refuse it
    the same way (docs/guarantees.md).
    """
    return check_optional(reason, "reason", MAX_REASON_CHARS)


def check_json_object(value: object, what: str) -> None:
    """A JSON object of at most :data:`MAX_PAYLOAD_BYTES` once encoded."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a JSON object")
    try:
        encoded = json.dumps(
            dict[str, Any](value),
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        # ValueError covers NaN/infinity and lone surrogates (UnicodeEncodeError).
        raise InvalidInput(f"{what} is not JSON: {exc}") from exc
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"{what} is larger than the limit of {MAX_PAYLOAD_BYTES:,} bytes")
