"""The types of the subset: what each field type reads as and may hold, the kind of a value at
run time, the static checks an operand must pass, and the ranges of integers (64-bit) and
instants.

Separate because the type checker (in the compiler) and the evaluation (the operators, the
functions, the values) must agree on these: one definition of each, read by both.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflow.clock import in_range
from workflow.definition.expressions._program import EvaluationError, ExpressionProblem, Node
from workflow.definition.model import FieldType
from workflow.i18n import _

INT_MIN, INT_MAX = -(2**63), 2**63 - 1


FIELD_TYPES: dict[FieldType, str] = {
    "string": "string",
    "text": "string",
    "date": "string",
    "integer": "int",
    "number": "double",
    "boolean": "bool",
    "datetime": "timestamp",
    "list": "list",
    "object": "map",
}
TARGETS: dict[FieldType, frozenset[str]] = {
    "string": frozenset({"string"}),
    "text": frozenset({"string"}),
    "date": frozenset({"string"}),
    "integer": frozenset({"int"}),
    "number": frozenset({"double", "int"}),
    "boolean": frozenset({"bool"}),
    "datetime": frozenset({"timestamp", "string"}),
    "list": frozenset({"list"}),
    "object": frozenset({"map"}),
}

NUMERIC = frozenset({"int", "double"})

_KINDS: dict[type, str] = {
    bool: "bool",
    int: "int",
    float: "double",
    str: "string",
    datetime: "timestamp",
    timedelta: "duration",
    list: "list",
    tuple: "list",
    dict: "map",
    type(None): "null",
}


def kind_of(value: object) -> str:
    return _KINDS.get(type(value), "dyn")


def mismatch(message: str, left: str, op: str, right: str) -> ExpressionProblem:
    """``message`` (marked with ``N_``) about two types ``op`` does not take, with the hint that
    numbers need ``1.0`` or ``double(x)`` when those are the two."""
    hint = _(" (write 1.0 for a number, or double(x))") if {left, right} == NUMERIC else ""
    return ExpressionProblem(_(message, left=left, op=op, right=right, hint=hint))


def expect(node: Node, kind: str, where: str) -> None:
    if node[0] not in (kind, "dyn"):
        raise ExpressionProblem(
            _("{where} must be {kind}, not {found}", where=where, kind=kind, found=node[0])
        )


def comparable(a: str, b: str) -> bool:
    return a == b or "dyn" in (a, b) or "null" in (a, b)


def int_range(value: int) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise EvaluationError(_("integer overflow (integers are 64-bit)"))
    return value


def instant_range(value: datetime) -> datetime:
    if in_range(value) is None:
        raise EvaluationError("timestamp out of range")
    return value
