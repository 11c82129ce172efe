"""Expressions in guards and effects: a subset of Google's Common Expression Language (CEL).

cel-python's parser (the CEL grammar, read by lark) turns the text into a tree; this package
type-checks that tree against the declared fields and compiles it into nested Python closures.
Nothing is ever handed to ``eval`` or ``exec``, and nothing can name Python code.

Cost is bounded before anything runs: the text is at most :data:`MAX_EXPRESSION_CHARS` long and
its string literals are scanned first (cel-python's string pattern backtracks exponentially on an
unterminated run of backslashes, so such text never reaches it); the tree is at most
:data:`MAX_EXPRESSION_NODES` operations, nested at most :data:`MAX_EXPRESSION_DEPTH` deep. The
subset has no loops (no comprehension macros ``all``, ``exists``, ``map``, ``filter``) and no
regular expressions (no ``matches``), so an evaluation performs each operation of the tree at most
once: its cost is linear in the expression and in the size of the data it reads.

Evaluation is deterministic (no clock but the transition's ``now``, no randomness, integers are
64-bit and checked, instants are UTC), so the audit replay computes exactly what the engine did.
Why CEL and this design: docs/expressions.md.

This module is the package's face (what the definition pipeline and the engine import); the
pieces, one concern each: ``_program`` (the scope, the compiled program, the errors), ``_syntax``
(the scan, the parse, cel-python's tree), ``_types`` (the types), ``_compiler`` (the walk that
type-checks and builds the closures), ``_operators`` (their table of types, and what they do) and
``_functions`` (what an expression may call), ``_values`` (field values in, computed values out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from workflow.definition.expressions._compiler import Compiler
from workflow.definition.expressions._functions import ConstantProblem
from workflow.definition.expressions._program import (
    EvaluationError,
    ExpressionProblem,
    Program,
    Scope,
)
from workflow.definition.expressions._syntax import INSTALL_HINT, deep, parse
from workflow.definition.expressions._types import TARGETS
from workflow.definition.expressions._values import spell_instant, to_json
from workflow.definition.model import FieldSpec, FieldType
from workflow.i18n import _

__all__ = [
    "INSTALL_HINT",
    "EvaluationError",
    "ExpressionProblem",
    "Program",
    "Scope",
    "compile_expression",
    "reserved_names",
    "spell_instant",
    "to_json",
]


_RESERVED = ("now", "actor", "state", "data", "payload")
"""Names an expression reads that are not fields: a field so named is read as ``data.NAME``."""


# --- the public face of this package ------------------------------------------------------------


def compile_expression(
    text: str,
    fields: Mapping[str, FieldSpec],
    *,
    result: FieldType | None = None,
    guard: bool = False,
) -> Program:
    """Parse, type-check and compile ``text``: a ``guard`` must be boolean, a computed value
    must fit the field type ``result`` (None: not checked, the field being unknown). Raises
    :class:`ExpressionProblem`."""
    tree = parse(text)
    compiler = Compiler(fields)
    try:
        kind, run = compiler.node(tree)
    except ConstantProblem as exc:
        raise ExpressionProblem(str(exc)) from None
    except RecursionError:  # pragma: no cover - the depth checks come first
        raise ExpressionProblem(deep()) from None
    if guard:
        if kind not in ("bool", "dyn"):
            raise ExpressionProblem(
                _("a guard must be true or false, but this is {kind}", kind=kind)
            )
    elif result is not None and kind not in TARGETS[result] | {"dyn", "null"}:
        raise ExpressionProblem(
            _("this is {kind}, which a {type} field cannot hold", kind=kind, type=result)
        )
    return Program(text, kind, run, frozenset(compiler.read))


def reserved_names() -> Iterable[str]:
    """Names an expression reads that are not fields."""
    return _RESERVED
