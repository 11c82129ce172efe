"""Values in and out: a field's value read from instance data as its declared type, and a
computed value written back as instance data holds it (instants as the audit log spells them).

Separate because it is the boundary with the JSON the engine stores: what comes in is checked
against the field's type, what goes out is what the replay will compare.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from workflow.definition.expressions._program import EvaluationError
from workflow.definition.expressions._types import kind_of
from workflow.i18n import _


def spell_instant(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: how the engine spells every instant it writes (the audit log's
    own ``format_instant``, whose layer this one may not import)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _read_timestamp(value: object, shown: str) -> datetime:
    if type(value) is datetime:
        return value
    if type(value) is str:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC)
    raise EvaluationError(f"{shown} is not a date-time with an offset")


def _reader(kind: str) -> Callable[[object, str], Any]:
    def read(value: object, shown: str) -> Any:
        found = kind_of(value)
        if found == kind:
            return list(value) if isinstance(value, tuple) else value
        if kind == "double" and found == "int":
            return float(value)  # type: ignore[arg-type]
        raise EvaluationError(
            _("{field} must be {kind}, not {found}", field=shown, kind=kind, found=found)
        )

    return read


READERS: dict[str, Callable[[object, str], Any]] = {
    kind: _reader(kind) for kind in ("int", "double", "string", "bool", "list", "map")
}
READERS["timestamp"] = _read_timestamp


def to_json(value: object, what: str) -> object:
    """A computed value as instance data holds it (instants as the audit log spells them)."""
    kind = kind_of(value)
    if kind == "timestamp":
        assert isinstance(value, datetime)
        return spell_instant(value)
    if kind == "double":
        assert isinstance(value, float)
        if not math.isfinite(value):
            raise EvaluationError(f"{what} is not a finite number")
        return value
    if kind == "duration":
        raise EvaluationError(f"{what} is a duration, which no field holds")
    if kind == "list":
        return [to_json(v, what) for v in value]  # type: ignore[attr-defined]
    if kind == "map":
        return {k: to_json(v, what) for k, v in value.items()}  # type: ignore[attr-defined]
    return value
