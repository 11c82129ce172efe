"""Limits on caller-supplied text, checked before anything reaches the database.

The same value must be accepted or refused on SQLite and on PostgreSQL alike. PostgreSQL ``TEXT``
cannot hold a NUL character and ``VARCHAR(n)`` refuses longer values, while SQLite stores either;
so identifiers and reasons are checked here, at the boundary, and refused with
:class:`~workflow.InvalidInput` on both backends. Payload and data values are JSON: a NUL inside
them is stored as the escape ``\\u0000`` and read back unchanged, so they are not restricted.
"""

from __future__ import annotations

from workflow.errors import InvalidInput

MAX_ACTOR_ID_CHARS = 200
MAX_UNIT_CHARS = 100
MAX_ITEM_KEY_CHARS = 100
MAX_IDEMPOTENCY_KEY_CHARS = 200
MAX_NAME_CHARS = 200


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
