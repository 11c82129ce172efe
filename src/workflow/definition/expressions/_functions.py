"""The functions an expression may call: the string tests (``startsWith``, ``endsWith``,
``contains``), the conversions (``int``, ``double``, ``string``, ``timestamp``, ``duration``),
and the refusal of the loop macros.

Separate because it is the subset's vocabulary: a function added or refused is a change here,
with its evaluation. The compiler checks each call against these tables (``size`` and ``has``,
which read their operand's shape, it compiles itself).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from workflow.definition.expressions._operators import typed
from workflow.definition.expressions._program import EvaluationError
from workflow.definition.expressions._types import (
    INT_MAX,
    INT_MIN,
    NUMERIC,
    instant_range,
    int_range,
    kind_of,
)
from workflow.definition.expressions._values import spell_instant
from workflow.i18n import _

STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "startsWith": str.startswith,
    "endsWith": str.endswith,
    "contains": lambda text, part: part in text,
}
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


def no_loops(name: str) -> str:
    return _(
        "{name}() is not available: expressions have no loops (use a function)", name=name
    )


_GO_DURATION = re.compile(r"(-?)((?:\d{1,9}(?:\.\d{1,9})?(?:h|ms|us|ns|m|s))+)")
_DURATION_PART = re.compile(r"(\d{1,9}(?:\.\d{1,9})?)(h|ms|us|ns|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def _to_duration(value: object, name: str) -> timedelta:
    if type(value) is timedelta:
        return value
    text = typed(value, "string")
    match = _GO_DURATION.fullmatch(text) if len(text) <= 64 else None
    if match is None:
        raise _problem_or_error(f'{text!r} is not a CEL duration (e.g. "72h", "30m", "1.5s")')
    seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(match.group(2)))
    try:
        return timedelta(seconds=-seconds if match.group(1) else seconds)
    except OverflowError:
        raise _problem_or_error(f"{text!r} is out of range") from None


def _to_timestamp(value: object, name: str) -> datetime:
    if type(value) is datetime:
        return value
    text = typed(value, "string")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _problem_or_error(f"{text!r} is not a date-time with an offset")
    return instant_range(moment.astimezone(UTC))


class ConstantProblem(EvaluationError):
    pass


def _problem_or_error(message: str) -> EvaluationError:
    return ConstantProblem(message)


def _to_int(value: object, name: str) -> int:
    kind = kind_of(value)
    if kind == "int":
        return value  # type: ignore[return-value]
    if kind == "double":
        assert isinstance(value, float)
        if not math.isfinite(value) or not INT_MIN <= value <= INT_MAX:
            raise EvaluationError("int() of a number out of range")
        return int(value)
    if kind == "string":
        assert isinstance(value, str)
        if not re.fullmatch(r"-?\d{1,19}", value):
            raise EvaluationError(f"int() of {value[:40]!r}")
        return int_range(int(value))
    if kind == "timestamp":
        assert isinstance(value, datetime)
        return int(value.timestamp())
    raise EvaluationError(f"int() of {kind}")


def _to_double(value: object, name: str) -> float:
    kind = kind_of(value)
    if kind in NUMERIC:
        return float(value)  # type: ignore[arg-type]
    if kind == "string":
        assert isinstance(value, str)
        try:
            result = float(value) if len(value) <= 64 else math.nan
        except ValueError:
            result = math.nan
        if math.isfinite(result):
            return result
    raise EvaluationError(f"double() of {kind}")


def _to_string(value: object, name: str) -> str:
    kind = kind_of(value)
    if kind == "string":
        return value  # type: ignore[return-value]
    if kind == "int":
        return str(value)
    if kind == "double":
        return repr(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "timestamp":
        assert isinstance(value, datetime)
        return spell_instant(value)
    raise EvaluationError(f"string() of {kind}")


CONVERSIONS: dict[str, tuple[frozenset[str], str, Callable[[object, str], Any]]] = {
    "int": (frozenset({"int", "double", "string", "timestamp"}), "int", _to_int),
    "double": (frozenset({"int", "double", "string"}), "double", _to_double),
    "string": (frozenset({"int", "double", "string", "bool", "timestamp"}), "string", _to_string),
    "timestamp": (frozenset({"string", "timestamp"}), "timestamp", _to_timestamp),
    "duration": (frozenset({"string", "duration"}), "duration", _to_duration),
}
