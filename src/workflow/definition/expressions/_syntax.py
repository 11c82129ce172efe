"""The text and cel-python's tree: the linear scan before the parser (length, string literals),
the parse, the depth check, the names of the grammar's rules, and the literals read from its
tokens.

Separate because it is the one module that knows cel-python's grammar and the shape of its tree
(imported on first use: the optional extra); the compiler walks the tree through these names.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from workflow.definition.expressions._program import ExpressionProblem
from workflow.definition.expressions._types import INT_MAX, INT_MIN
from workflow.i18n import N_, _
from workflow.limits import MAX_EXPRESSION_CHARS, MAX_EXPRESSION_DEPTH

INSTALL_HINT = N_("expressions need cel-python: pip install 'directive-workflow[expressions]'")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}


# --- before the parser: length and string literals, in one linear scan ------------------------


def _scan(text: str) -> None:
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionProblem(
            _(
                "{count:,} characters; an expression has at most {limit:,}",
                count=len(text),
                limit=MAX_EXPRESSION_CHARS,
            )
        )
    if not text.strip():
        raise ExpressionProblem(_("the expression is empty"))
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c not in "'\"":
            i += 1
            continue
        if text.startswith(c * 3, i):
            raise ExpressionProblem(_("triple-quoted strings are not supported"))
        if i and (text[i - 1].isalnum() or text[i - 1] == "_"):
            raise ExpressionProblem(_("string prefixes (r'', b'') are not supported"))
        j = i + 1
        while j < n and text[j] != c:
            if text[j] == "\\":
                if j + 1 >= n or text[j + 1] not in _ESCAPES:
                    raise ExpressionProblem(
                        _("a string may only escape \\\\, \\', \\\", \\n, \\t and \\r")
                    )
                j += 2
            elif text[j] in "\r\n":
                raise ExpressionProblem(_("a string cannot span lines"))
            else:
                j += 1
        if j >= n:
            raise ExpressionProblem(
                _("the string starting at character {at} is not closed", at=i + 1)
            )
        i = j + 1


@functools.cache
def _cel() -> tuple[Any, type[Exception]]:
    """cel-python's parser and its error, imported on first use: a process whose definitions
    hold no expression never pays for the import (nor needs the optional extra)."""
    try:
        from celpy.celparser import (  # noqa: PLC0415 - optional extra, imported when needed
            CELParseError,
            CELParser,
        )
    except ImportError:
        raise ExpressionProblem(_(INSTALL_HINT)) from None
    return CELParser(), CELParseError


def parse(text: str) -> Any:
    _scan(text)
    parser, parse_error = _cel()
    try:
        tree = parser.parse(text)
    except parse_error as exc:
        first = str(exc.args[0]).strip().splitlines()
        column = getattr(exc, "column", None) or "?"
        detail = " ".join(first)[:160]
        raise ExpressionProblem(
            _("not a CEL expression (column {column}): {detail}", column=column, detail=detail)
        ) from None
    _check_depth(tree)
    return tree


def deep() -> str:
    return _("nested more than {limit} levels deep", limit=MAX_EXPRESSION_DEPTH)


def _check_depth(tree: Any) -> None:
    """Refuse a tree deeper than the compiler will recurse (without recursing to find out)."""
    limit = MAX_EXPRESSION_DEPTH * 12
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise ExpressionProblem(deep())
        stack.extend((child, depth + 1) for child in getattr(node, "children", ()))


# --- the literals of the text, as values ------------------------------------------------------


def literal_value(token: Any) -> object:
    kind, text = token.type, str(token)
    if kind == "BOOL_LIT":
        return text == "true"
    if kind == "NULL_LIT":
        return None
    if kind == "INT_LIT":
        negative = text.startswith("-")
        digits = text.lstrip("-")
        value = int(digits, 16) if digits.lower().startswith("0x") else int(digits)
        value = -value if negative else value
        if not INT_MIN <= value <= INT_MAX:
            raise ExpressionProblem(f"{text} does not fit a 64-bit integer")
        return value
    if kind == "FLOAT_LIT":
        number = float(text)
        if not math.isfinite(number):
            raise ExpressionProblem(f"{text} is not a finite number")
        return number
    if kind == "STRING_LIT":
        body, out, i = text[1:-1], [], 0
        while i < len(body):
            if body[i] == "\\":
                out.append(_ESCAPES[body[i + 1]])
                i += 2
            else:
                out.append(body[i])
                i += 1
        return "".join(out)
    raise ExpressionProblem(f"{kind.lower().replace('_lit', '')} literals are not supported")


# --- the shape of cel-python's tree: its one-child wrappers and its rules' names -------------


def unwrap(tree: Any) -> Any:
    while len(tree.children) == 1 and tree.data in PASS_THROUGH:
        tree = tree.children[0]
    return tree


def identifier(tree: Any) -> str | None:
    node = unwrap(tree)
    return str(node.children[0]) if node.data == "ident" else None


def is_literal(tree: Any) -> bool:
    node = unwrap(tree)
    return bool(node.data == "literal" and node.children[0].type in ("STRING_LIT",))


def constant_string(tree: Any) -> str:
    value = literal_value(unwrap(tree).children[0])
    assert isinstance(value, str)
    return value


PASS_THROUGH = frozenset(
    {"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication",
     "unary", "member", "primary"}
)  # fmt: skip
RULE_NAMES = {
    "member_object": "a message literal (Type{...})",
    "map_lit": "a map literal ({...})",
    "dot_ident": "a leading-dot name",
    "dot_ident_arg": "a leading-dot function",
}
RELATIONS = {
    "relation_lt": "<", "relation_le": "<=", "relation_gt": ">", "relation_ge": ">=",
    "relation_eq": "==", "relation_ne": "!=", "relation_in": "in",
}  # fmt: skip
ARITHMETIC_RULES = {
    "addition_add": "+", "addition_sub": "-", "multiplication_mul": "*",
    "multiplication_div": "/", "multiplication_mod": "%",
}  # fmt: skip
