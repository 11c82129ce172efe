"""The operators: the table of what each arithmetic operator takes and gives and the pairs of
types with an order (one table for the checker and the evaluator), and what the operators do to
values when an expression runs: CEL's equality, membership, order, checked 64-bit arithmetic with
truncating division, and the run-time checks of a value's kind.

Separate from the compiler, which type-checks statically against these tables and closes over
these functions: here is what happens at evaluation, on values from data the checker could not
see (``dyn``). :data:`ARITHMETIC` is defined here, not imported, because :func:`apply` reads it
on every evaluation: Python 3.11 compiles ``imported_name.get(...)`` to an attribute load slower
than the method call on a name of the module's own (``apply`` ran 14% slower so).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow.definition.expressions._program import EvaluationError
from workflow.definition.expressions._types import instant_range, int_range, kind_of
from workflow.i18n import _

# One table for the checker and the evaluator: (operator, left type, right type) -> result type.
ARITHMETIC: dict[tuple[str, str, str], str] = {
    ("+", "int", "int"): "int",
    ("+", "double", "double"): "double",
    ("+", "string", "string"): "string",
    ("+", "list", "list"): "list",
    ("+", "timestamp", "duration"): "timestamp",
    ("+", "duration", "timestamp"): "timestamp",
    ("+", "duration", "duration"): "duration",
    ("-", "int", "int"): "int",
    ("-", "double", "double"): "double",
    ("-", "timestamp", "timestamp"): "duration",
    ("-", "timestamp", "duration"): "timestamp",
    ("-", "duration", "duration"): "duration",
    ("*", "int", "int"): "int",
    ("*", "double", "double"): "double",
    ("/", "int", "int"): "int",
    ("/", "double", "double"): "double",
    ("%", "int", "int"): "int",
}
ORDERED = frozenset(
    {
        ("int", "int"),
        ("double", "double"),
        ("string", "string"),
        ("timestamp", "timestamp"),
        ("duration", "duration"),
    }
)
ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}


def boolean(value: object, op: str) -> bool:
    if type(value) is not bool:
        raise EvaluationError(f"{op} needs bool, not {kind_of(value)}")
    return value


def typed(value: object, kind: str) -> Any:
    if kind_of(value) != kind:
        raise EvaluationError(f"expected {kind}, found {kind_of(value)}")
    return value


def equal(a: object, b: object) -> bool:
    ka, kb = kind_of(a), kind_of(b)
    if ka != kb:
        return False  # values of different types (from dyn lists and maps) are not equal
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def contains(container: object, item: object) -> bool:
    if type(container) is list:
        return any(equal(item, x) for x in container)
    if type(container) is dict:
        return type(item) is str and item in container
    raise EvaluationError(f"'in' needs a list or a map, not {kind_of(container)}")


def apply(op: str, a: Any, b: Any) -> Any:
    kind = ARITHMETIC.get((op, kind_of(a), kind_of(b)))
    if kind is None:
        raise EvaluationError(f"no operator {kind_of(a)} {op} {kind_of(b)}")
    try:
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        elif kind == "int":
            if b == 0:
                raise EvaluationError(_("division by zero") if op == "/" else _("modulus by zero"))
            quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)  # toward zero
            result = quotient if op == "/" else a - b * quotient
        else:
            if b == 0:
                raise EvaluationError(_("division by zero"))
            result = a / b
    except OverflowError:
        raise EvaluationError(f"{kind} out of range") from None
    if kind == "int":
        return int_range(result)
    if kind == "timestamp":
        return instant_range(result)
    return result
