"""Limits on caller-supplied text, checked before anything reaches the database.

The same value must be accepted or refused on SQLite and on PostgreSQL alike. PostgreSQL ``TEXT``
cannot hold a NUL character and ``VARCHAR(n)`` refuses longer values, while SQLite stores either;
so identifiers and reasons are checked here, at the boundary, and refused with
:class:`~workflow.InvalidInput` on both backends. Payload and data values are JSON: a NUL inside
them is stored as the escape ``\\u0000`` and read back unchanged, so they are not restricted.

Files and streams are read through :func:`read_limited`: at most the limit and one byte, whatever
``stat`` says (a device, a FIFO or standard input has no size), so ``--payload @/dev/zero`` costs
one limit of memory and is refused. JSON from outside goes through :func:`parse_json`, which caps
nesting and the digits of integers before anything recurses over it. docs/guarantees.md lists
every limit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import IO, Any

from workflow.errors import InputTooLarge, InvalidInput, NotFound
from workflow.i18n import _

MAX_ACTOR_ID_CHARS = 200
MAX_UNIT_CHARS = 100
MAX_ITEM_KEY_CHARS = 100
MAX_IDEMPOTENCY_KEY_CHARS = 200
MAX_NAME_CHARS = 200
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_REASON_CHARS = 4000
MAX_INSTANCE_ID = 2**63 - 1

# A definition's size: under these a definition validates and deploys in well under two CPU
# seconds, and every check over it is linear.
MAX_STATES = 10_000
MAX_TRANSITIONS = 20_000
"""Counted once per source state: ``source: [a, b]`` is two, ``source: "*"`` one per non-final
state; this is what the state machine is built from."""
MAX_ALTERNATIVES = 32
"""Transitions sharing one trigger and one source state (tried in order on every fire)."""

MAX_EXPRESSION_CHARS = 1_000
"""One expression in a guard or an effect (docs/expressions.md)."""
MAX_EXPRESSION_NODES = 200
"""Operations in one expression: each runs at most once, so this bounds its evaluation."""
MAX_EXPRESSION_DEPTH = 24
"""Operations nested inside one another in one expression."""

MAX_SPAN_DAYS = 36_525
"""A duration in a definition or a span given to a command (``--due-within``, ``--older-than``,
``--lease``): at most a hundred years."""

# Content read from outside: JSON payloads, data, exports, checkpoints; YAML files.
MAX_NESTING = 32
"""Levels of objects and arrays (YAML: mappings and sequences) inside one another."""
MAX_INT_DIGITS = 30
"""Digits of one integer: no field needs more, and Python refuses to convert over 4,300."""
MAX_JSON_FILE_BYTES = 1024 * 1024
"""A ``--payload @file`` or ``--data @file``, layout included (the object itself: 64 KiB)."""
MAX_CHECKPOINT_BYTES = 128 * 1024 * 1024
"""A checkpoint file: about a million chains."""
MAX_LINE_CHARS = 1024 * 1024
"""One record (line) of an audit export read back."""


def check_text(value: object, what: str, max_chars: int | None = None) -> str:
    """``value`` if it is storable text: a str, valid UTF-8, no NUL, at most ``max_chars`` long."""
    if not isinstance(value, str):
        raise InvalidInput(
            _("{what} must be text, not {kind}", what=what, kind=type(value).__name__)
        )
    if "\x00" in value:
        raise InvalidInput(_("{what} must not contain a NUL character (\\x00)", what=what))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid Unicode text (lone surrogate)") from None
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInput(
            _("{what} is longer than {count} characters", what=what, count=max_chars)
        )
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


def check_row_id(value: object, what: str) -> int:
    """A whole number a database key can hold (1 to 2**63 - 1), else :class:`InvalidInput`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_INSTANCE_ID:
        raise InvalidInput(f"{what} {value!r} is not an id (a whole number, 1 to 2**63 - 1)")
    return value


def check_reason(reason: object) -> str | None:
    """A reason is read by people: text, at most :data:`MAX_REASON_CHARS`, no NUL.

    A NUL is refused, not escaped: PostgreSQL TEXT cannot store it, so both backends refuse it
    the same way (docs/guarantees.md).
    """
    return check_optional(reason, "reason", MAX_REASON_CHARS)


CANONICAL_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
"""The audit log's canonical JSON (sorted keys, no spaces, text as is), built once:
``json.dumps`` with these options builds an encoder on every call. The one encoder of that
spelling: ``hashchain.encoding.canonical_json`` hashes with it, and it lives here, below the
chain, because the payload check encodes with it too (a fire stores and hashes that text)."""


def check_json_object(value: object, what: str) -> str:
    """A JSON object of at most :data:`MAX_PAYLOAD_BYTES` once encoded; returns that encoding
    (sorted keys, no spaces, text as is: the audit log's canonical JSON, which a fire stores
    and hashes without encoding the payload a second time)."""
    if type(value) is not dict and not isinstance(value, Mapping):
        raise InvalidInput(_("{what} must be a JSON object", what=what))
    check_nesting(value, what)
    try:
        text = CANONICAL_ENCODER.encode(dict[str, Any](value))
        encoded = text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        # ValueError covers NaN/infinity and lone surrogates (UnicodeEncodeError).
        raise InvalidInput(_("{what} is not JSON: {why}", what=what, why=exc)) from exc
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise InvalidInput(
            _(
                "{source} is larger than the limit of {limit:,} bytes",
                source=what,
                limit=MAX_PAYLOAD_BYTES,
            )
        )
    return text


def read_limited(path: str | os.PathLike[str], limit: int, what: str = "") -> bytes:
    """The bytes of the file at ``path``, reading at most ``limit`` + 1 of them.

    Raises :class:`~workflow.errors.InputTooLarge` past ``limit`` and
    :class:`~workflow.InvalidInput` when the file cannot be read, each naming the file.
    """
    try:
        return read_at_most(path, limit, what)
    except OSError as exc:
        prefix = f"{what}: " if what else ""
        raise InvalidInput(f"{prefix}cannot read {os.fsdecode(path)}: {exc.strerror}") from None


def read_at_most(path: str | os.PathLike[str], limit: int, what: str = "") -> bytes:
    """Like :func:`read_limited`, leaving an :class:`OSError` to the caller's own words."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(os.fsdecode(path), limit, what)
    return data


def read_text(path: str | os.PathLike[str], limit: int, what: str = "") -> str:
    """:func:`read_limited`, decoded as UTF-8 (:func:`utf8_text`)."""
    return utf8_text(read_limited(path, limit, what), os.fsdecode(path))


def bounded_lines(handle: IO[str], source: str) -> Iterator[str]:
    """The lines of a text file, each read up to :data:`MAX_LINE_CHARS` and refused past it
    (a file with no line break, ``/dev/zero``, is never read whole), or when not UTF-8."""
    number = 0
    while True:
        number += 1
        try:
            line = handle.readline(MAX_LINE_CHARS + 1)
        except UnicodeDecodeError:
            raise InvalidInput(f"{source}, line {number}: not valid UTF-8") from None
        if not line:
            return
        if len(line) > MAX_LINE_CHARS:
            raise InvalidInput(
                f"{source}, line {number}: longer than the limit of {MAX_LINE_CHARS:,} characters"
            )
        yield line


def utf8_text(raw: bytes, source: str) -> str:
    """``raw`` decoded as UTF-8, or :class:`~workflow.InvalidInput` naming the line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{source}: not valid UTF-8 (line {line}, byte {exc.start + 1})"
        ) from None


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        digits = len(text.lstrip("-"))
        raise _TooBig(f"an integer of {digits:,} digits; the limit is {MAX_INT_DIGITS}")
    return int(text)


def _json_constant(name: str) -> float:
    raise _TooBig(f"{name} is not a JSON number")


class _TooBig(ValueError):
    pass


def parse_json(text: str, source: str) -> Any:
    """JSON text as Python values, refused with :class:`~workflow.InvalidInput` (naming
    ``source`` and the place) when it is not JSON, nests deeper than :data:`MAX_NESTING` or
    holds an integer longer than :data:`MAX_INT_DIGITS` digits, NaN or infinity."""
    try:
        value = json.loads(text, parse_int=_json_int, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            _(
                "{source} is not valid JSON (line {line}, column {column}: {why})",
                source=source,
                line=exc.lineno,
                column=exc.colno,
                why=exc.msg,
            )
        ) from None
    except _TooBig as exc:
        raise InvalidInput(f"{source}: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"{source} nests deeper than {MAX_NESTING} levels") from None
    check_nesting(value, source)
    return value


def check_nesting(value: object, what: str) -> None:
    """Refuse containers nested deeper than :data:`MAX_NESTING`, and integers longer than
    :data:`MAX_INT_DIGITS` digits, walking without recursion (a cycle is cut by the depth)."""
    bound = 10**MAX_INT_DIGITS
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str or kind is float or kind is bool or item is None:
            continue  # the common leaves first: the ABC checks below were most of a fire's check
        children: Any = None
        if kind is not int:
            if kind is dict or isinstance(item, Mapping):
                children = item.values()
            elif isinstance(item, (list, tuple)):
                children = item
        if children is None:
            if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= bound:
                raise InvalidInput(
                    f"{what} holds an integer longer than {MAX_INT_DIGITS} digits (the limit)"
                )
            continue
        if depth >= MAX_NESTING:
            raise InvalidInput(f"{what} nests deeper than {MAX_NESTING} levels (the limit)")
        stack.extend((child, depth + 1) for child in children)
