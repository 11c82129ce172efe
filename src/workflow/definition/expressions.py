"""Expressions in guards and effects: a subset of Google's Common Expression Language (CEL).

cel-python's parser (the CEL grammar, read by lark) turns the text into a tree; this module
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
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from workflow.clock import in_range
from workflow.definition.model import FieldSpec, FieldType
from workflow.i18n import N_, _
from workflow.limits import MAX_EXPRESSION_CHARS, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_NODES

INSTALL_HINT = N_("expressions need cel-python: pip install 'directive-workflow[expressions]'")

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}
_RESERVED = ("now", "actor", "state", "data", "payload")
"""Names an expression reads that are not fields: a field so named is read as ``data.NAME``."""

_FIELD_TYPES: dict[FieldType, str] = {
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
_TARGETS: dict[FieldType, frozenset[str]] = {
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

# One table for the checker and the evaluator: (operator, left type, right type) -> result type.
_ARITHMETIC: dict[tuple[str, str, str], str] = {
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
_ORDERED = frozenset(
    {
        ("int", "int"),
        ("double", "double"),
        ("string", "string"),
        ("timestamp", "timestamp"),
        ("duration", "duration"),
    }
)
_NUMERIC = frozenset({"int", "double"})

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


def _kind(value: object) -> str:
    return _KINDS.get(type(value), "dyn")


class ExpressionProblem(Exception):
    """An expression the validator refuses (found while compiling, before anything runs)."""


class EvaluationError(Exception):
    """An expression that could not be evaluated on this data; ``missing`` names an absent
    field it needed."""

    def __init__(self, message: str, missing: str | None = None) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Scope:
    """What an expression reads: the instance's data (a bare field name, or ``data.x``), the
    call's payload (only as ``payload.x``: what the caller claims is never mistaken for what the
    instance holds), and the transition's time, actor and state."""

    data: Mapping[str, Any]
    payload: Mapping[str, Any]
    now: datetime
    actor_id: str
    actor_roles: frozenset[str]
    state: str


Evaluate = Callable[[Scope], Any]


@dataclass(frozen=True)
class Program:
    """A compiled expression: its text, its static type and the closure that evaluates it."""

    text: str
    type: str
    run: Evaluate
    fields: frozenset[str]
    """The declared fields it reads."""


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


def _parse(text: str) -> Any:
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


def _deep() -> str:
    return _("nested more than {limit} levels deep", limit=MAX_EXPRESSION_DEPTH)


def _check_depth(tree: Any) -> None:
    """Refuse a tree deeper than the compiler will recurse (without recursing to find out)."""
    limit = MAX_EXPRESSION_DEPTH * 12
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise ExpressionProblem(_deep())
        stack.extend((child, depth + 1) for child in getattr(node, "children", ()))


# --- the compiler -------------------------------------------------------------------------------

_Node = tuple[str, Evaluate]


class _Compiler:
    def __init__(self, fields: Mapping[str, FieldSpec]) -> None:
        self.fields = fields
        self.read: set[str] = set()
        self.nodes = 0
        self.depth = 0

    def count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_EXPRESSION_NODES:
            raise ExpressionProblem(
                _(
                    "more than {limit} operations; split it or use a function",
                    limit=MAX_EXPRESSION_NODES,
                )
            )

    def node(self, tree: Any) -> _Node:
        # Wrappers with one child (expr -> conditionalor -> ... -> primary) are walked in a loop.
        while len(tree.children) == 1 and tree.data in _PASS_THROUGH:
            tree = tree.children[0]
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:
            raise ExpressionProblem(_deep())
        try:
            self.count()
            handler = getattr(self, f"_{tree.data}", None)
            if handler is None:
                raise ExpressionProblem(f"{_RULE_NAMES.get(str(tree.data), tree.data)} "
                                        "is not supported")
            result: _Node = handler(tree)
            return result
        finally:
            self.depth -= 1

    # ternary, logic
    def _expr(self, tree: Any) -> _Node:
        cond, yes, no = (self.node(c) for c in tree.children)
        _expect(cond, "bool", "the condition of ? :")
        if yes[0] != no[0] and "dyn" not in (yes[0], no[0]) and "null" not in (yes[0], no[0]):
            raise ExpressionProblem(f"the two branches of ? : differ: {yes[0]} and {no[0]}")
        kind = yes[0] if yes[0] not in ("null", "dyn") else no[0]
        test, left, right = cond[1], yes[1], no[1]

        def choose(s: Scope) -> Any:
            verdict = test(s)
            if type(verdict) is not bool:
                raise EvaluationError(f"the condition of ? : is {_kind(verdict)}, not bool")
            return left(s) if verdict else right(s)

        return kind, choose

    def _conditionalor(self, tree: Any) -> _Node:
        return self._logic(tree, "||", True)

    def _conditionaland(self, tree: Any) -> _Node:
        return self._logic(tree, "&&", False)

    def _logic(self, tree: Any, op: str, decides: bool) -> _Node:
        left, right = (self.node(c) for c in tree.children)
        _expect(left, "bool", f"the left of {op}")
        _expect(right, "bool", f"the right of {op}")
        first, second = left[1], right[1]

        def logic(s: Scope) -> bool:
            # CEL's commutative logic: an error on one side is absorbed when the other decides.
            try:
                a = _boolean(first(s), op)
            except EvaluationError:
                if _boolean(second(s), op) is decides:
                    return decides
                raise
            if a is decides:
                return decides
            return _boolean(second(s), op)

        return "bool", logic

    # relations
    def _binary(self, tree: Any, operators: Mapping[str, str]) -> tuple[str, _Node, _Node]:
        """A binary rule's operator (``[rule_op(left), right]`` in cel-python's tree) and its
        two compiled operands."""
        operator, right_tree = tree.children
        return operators[operator.data], self.node(operator.children[0]), self.node(right_tree)

    def _relation(self, tree: Any) -> _Node:
        op, left, right = self._binary(tree, _RELATIONS)
        lt, rt = left[0], right[0]
        a, b = left[1], right[1]
        if op == "in":
            if rt not in ("list", "map", "dyn"):
                raise ExpressionProblem(f"'in' needs a list or a map on its right, not {rt}")

            def inside(s: Scope) -> bool:
                return _contains(b(s), a(s))

            return "bool", inside
        if op in ("==", "!="):
            if not _comparable(lt, rt):
                raise _mismatch(N_("{left} {op} {right}: compare like with like{hint}"), lt, op, rt)
            negate = op == "!="

            def equals(s: Scope) -> bool:
                return _equal(a(s), b(s)) is not negate

            return "bool", equals
        if "dyn" not in (lt, rt) and (lt, rt) not in _ORDERED:
            message = N_("no order between {left} and {right} ({left} {op} {right}){hint}")
            raise _mismatch(message, lt, op, rt)
        compare = _ORDER_OPS[op]

        def ordered(s: Scope) -> bool:
            x, y = a(s), b(s)
            if (_kind(x), _kind(y)) not in _ORDERED:
                raise EvaluationError(f"no order between {_kind(x)} and {_kind(y)}")
            return bool(compare(x, y))

        return "bool", ordered

    # arithmetic
    def _addition(self, tree: Any) -> _Node:
        return self._arithmetic(tree)

    def _multiplication(self, tree: Any) -> _Node:
        return self._arithmetic(tree)

    def _arithmetic(self, tree: Any) -> _Node:
        op, left, right = self._binary(tree, _ARITHMETIC_RULES)
        lt, rt = left[0], right[0]
        if "dyn" in (lt, rt):
            kind = "dyn"
        else:
            found = _ARITHMETIC.get((op, lt, rt))
            if found is None:
                raise _mismatch(N_("no operator {left} {op} {right}{hint}"), lt, op, rt)
            kind = found
        a, b = left[1], right[1]

        def arithmetic(s: Scope) -> Any:
            return _apply(op, a(s), b(s))

        return kind, arithmetic

    def _unary(self, tree: Any) -> _Node:
        operator, operand_tree = tree.children
        operand = self.node(operand_tree)
        value = operand[1]
        if operator.data == "unary_not":
            _expect(operand, "bool", "!")

            def negation(s: Scope) -> bool:
                return not _boolean(value(s), "!")

            return "bool", negation
        if operand[0] not in ("int", "double", "duration", "dyn"):
            raise ExpressionProblem(f"no operator -{operand[0]}")

        def minus(s: Scope) -> Any:
            v = value(s)
            kind = _kind(v)
            if kind == "int":
                return _int_range(-v)
            if kind in ("double", "duration"):
                return -v
            raise EvaluationError(f"no operator -{kind}")

        return operand[0], minus

    # members
    def _member_dot(self, tree: Any) -> _Node:
        target_tree, name_token = tree.children
        name = str(name_token)
        root = _identifier(target_tree)
        if root in ("data", "payload"):
            return self._field(name, root)
        if root == "actor":
            if name == "id":
                return "string", lambda s: s.actor_id
            if name == "roles":
                return "list", lambda s: sorted(s.actor_roles)
            raise ExpressionProblem(f"actor has id and roles, not {name!r}")
        get = self._mapping(target_tree, "{kind} has no field " + repr(name))

        def select(s: Scope) -> Any:
            mapping = get(s)
            if name not in mapping:
                raise EvaluationError(f"no key {name!r}")
            return mapping[name]

        return "dyn", select

    def _mapping(self, target_tree: Any, refusal: str) -> Callable[[Scope], dict[str, Any]]:
        """The map ``target_tree`` evaluates to (an object field, or a value read inside one);
        anything else is refused with ``refusal`` (its ``{kind}`` filled), statically or when
        evaluated."""
        target = self.node(target_tree)
        if target[0] not in ("map", "dyn"):
            raise ExpressionProblem(refusal.format(kind=target[0]))
        get = target[1]

        def mapping(s: Scope) -> dict[str, Any]:
            value = get(s)
            if type(value) is not dict:
                raise EvaluationError(refusal.format(kind=_kind(value)))
            return value

        return mapping

    def _member_index(self, tree: Any) -> _Node:
        target = self.node(tree.children[0])
        index = self.node(tree.children[1])
        if target[0] == "list":
            _expect(index, "int", "a list index")
        elif target[0] == "map":
            _expect(index, "string", "a map key")
        elif target[0] != "dyn":
            raise ExpressionProblem(f"{target[0]} cannot be indexed")
        get, at = target[1], index[1]

        def item(s: Scope) -> Any:
            container, key = get(s), at(s)
            if type(container) is list and type(key) is int:
                if not 0 <= key < len(container):
                    raise EvaluationError(
                        _(
                            "index {index} out of range (size {size})",
                            index=key,
                            size=len(container),
                        )
                    )
                return container[key]
            if type(container) is dict and type(key) is str:
                if key not in container:
                    raise EvaluationError(f"no key {key!r}")
                return container[key]
            raise EvaluationError(f"{_kind(container)} cannot be indexed by {_kind(key)}")

        return "dyn", item

    def _member_dot_arg(self, tree: Any) -> _Node:
        target_tree, name_token, *rest = tree.children
        name = str(name_token)
        if name in _MACROS:
            raise ExpressionProblem(_no_loops(name))
        if name == "matches":
            raise ExpressionProblem(
                _(
                    "matches() is not available: no regular expressions (use startsWith, "
                    "endsWith or contains)"
                )
            )
        if name not in ("size", "startsWith", "endsWith", "contains"):
            raise ExpressionProblem(_("unknown function {name}()", name=f".{name}"))
        target = self.node(target_tree)
        args = [self.node(a) for a in (rest[0].children if rest else ())]
        if name == "size" and not args:
            return self._size(target)
        if name in ("startsWith", "endsWith", "contains"):
            _expect(target, "string", f"{name}()")
            if len(args) != 1:
                raise ExpressionProblem(f"{name}() takes one argument")
            _expect(args[0], "string", f"the argument of {name}()")
            text, part = target[1], args[0][1]
            test = _STRING_TESTS[name]

            def string_test(s: Scope) -> bool:
                return test(_typed(text(s), "string"), _typed(part(s), "string"))

            return "bool", string_test
        raise ExpressionProblem(f"{name}() takes no argument")

    def _ident_arg(self, tree: Any) -> _Node:
        name_token, *rest = tree.children
        name = str(name_token)
        arg_trees = list(rest[0].children) if rest else []
        if name == "has":
            return self._has(arg_trees)
        if name in _MACROS:
            raise ExpressionProblem(_no_loops(name))
        if name not in _CONVERSIONS and name != "size":
            raise ExpressionProblem(_("unknown function {name}()", name=name))
        if len(arg_trees) != 1:
            raise ExpressionProblem(f"{name}() takes one argument")
        arg = self.node(arg_trees[0])
        if name == "size":
            return self._size(arg)
        accepts, result, convert = _CONVERSIONS[name]
        if arg[0] not in accepts and arg[0] != "dyn":
            raise ExpressionProblem(f"{name}() takes {' or '.join(sorted(accepts))}, not {arg[0]}")
        value = arg[1]
        if name in ("timestamp", "duration") and _is_literal(arg_trees[0]):
            constant = convert(_constant_string(arg_trees[0]), name)  # refused here if bad
            return result, lambda s: constant

        def conversion(s: Scope) -> Any:
            return convert(value(s), name)

        return result, conversion

    def _size(self, target: _Node) -> _Node:
        if target[0] not in ("string", "list", "map", "dyn"):
            raise ExpressionProblem(f"size() takes a string, list or map, not {target[0]}")
        get = target[1]

        def size(s: Scope) -> int:
            v = get(s)
            if type(v) not in (str, list, dict):
                raise EvaluationError(f"size() of {_kind(v)}")
            return len(v)

        return "int", size

    def _has(self, arg_trees: list[Any]) -> _Node:
        member = _unwrap(arg_trees[0]) if len(arg_trees) == 1 else None
        if member is None or member.data != "member_dot":
            raise ExpressionProblem("has() takes a field selection: has(payload.x), has(data.x)")
        target_tree, name_token = member.children
        name = str(name_token)
        root = _identifier(target_tree)
        if root in ("data", "payload"):
            self._declared(name)
            self.count()

            def present(s: Scope) -> bool:
                return (s.data if root == "data" else s.payload).get(name) is not None

            return "bool", present
        get = self._mapping(target_tree, "has() on {kind}, which has no fields")

        def has_key(s: Scope) -> bool:
            return name in get(s)

        return "bool", has_key

    # primaries
    def _paren_expr(self, tree: Any) -> _Node:
        return self.node(tree.children[0])

    def _list_lit(self, tree: Any) -> _Node:
        items = [self.node(c) for c in (tree.children[0].children if tree.children else ())]
        getters = [i[1] for i in items]
        return "list", lambda s: [g(s) for g in getters]

    def _literal(self, tree: Any) -> _Node:
        token = tree.children[0]
        value = _literal_value(token)
        return _kind(value), lambda s: value

    def _ident(self, tree: Any) -> _Node:
        name = str(tree.children[0])
        if name == "now":
            return "timestamp", lambda s: s.now
        if name == "state":
            return "string", lambda s: s.state
        if name in ("data", "payload", "actor"):
            raise ExpressionProblem(f"{name} is read by field: {name}.NAME")
        return self._field(name, None)

    def _declared(self, name: str) -> FieldSpec:
        spec = self.fields.get(name)
        if spec is None:
            known = ", ".join(sorted(self.fields)) or "none"
            raise ExpressionProblem(
                _("unknown field {name!r} (declared: {known})", name=name, known=known)
            )
        return spec

    def _field(self, name: str, source: str | None) -> _Node:
        spec = self._declared(name)
        self.read.add(name)
        kind = _FIELD_TYPES[spec.type]
        convert = _READERS[kind]
        shown = name if source is None else f"{source}.{name}"

        from_payload = source == "payload"

        def read(s: Scope) -> Any:
            value = (s.payload if from_payload else s.data).get(name)
            if value is None:
                raise EvaluationError(_("{field} is missing", field=shown), missing=name)
            return convert(value, shown)

        return kind, read


def _unwrap(tree: Any) -> Any:
    while len(tree.children) == 1 and tree.data in _PASS_THROUGH:
        tree = tree.children[0]
    return tree


def _identifier(tree: Any) -> str | None:
    node = _unwrap(tree)
    return str(node.children[0]) if node.data == "ident" else None


def _is_literal(tree: Any) -> bool:
    node = _unwrap(tree)
    return bool(node.data == "literal" and node.children[0].type in ("STRING_LIT",))


def _constant_string(tree: Any) -> str:
    value = _literal_value(_unwrap(tree).children[0])
    assert isinstance(value, str)
    return value


_PASS_THROUGH = frozenset(
    {"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication",
     "unary", "member", "primary"}
)  # fmt: skip
_RULE_NAMES = {
    "member_object": "a message literal (Type{...})",
    "map_lit": "a map literal ({...})",
    "dot_ident": "a leading-dot name",
    "dot_ident_arg": "a leading-dot function",
}
_RELATIONS = {
    "relation_lt": "<", "relation_le": "<=", "relation_gt": ">", "relation_ge": ">=",
    "relation_eq": "==", "relation_ne": "!=", "relation_in": "in",
}  # fmt: skip
_ARITHMETIC_RULES = {
    "addition_add": "+", "addition_sub": "-", "multiplication_mul": "*",
    "multiplication_div": "/", "multiplication_mod": "%",
}  # fmt: skip
_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}
_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "startsWith": str.startswith,
    "endsWith": str.endswith,
    "contains": lambda text, part: part in text,
}
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


def _no_loops(name: str) -> str:
    return _(
        "{name}() is not available: expressions have no loops (use a function)", name=name
    )


def _mismatch(message: str, left: str, op: str, right: str) -> ExpressionProblem:
    """``message`` (marked with ``N_``) about two types ``op`` does not take, with the hint that
    numbers need ``1.0`` or ``double(x)`` when those are the two."""
    hint = _(" (write 1.0 for a number, or double(x))") if {left, right} == _NUMERIC else ""
    return ExpressionProblem(_(message, left=left, op=op, right=right, hint=hint))


def _expect(node: _Node, kind: str, where: str) -> None:
    if node[0] not in (kind, "dyn"):
        raise ExpressionProblem(
            _("{where} must be {kind}, not {found}", where=where, kind=kind, found=node[0])
        )


def _comparable(a: str, b: str) -> bool:
    return a == b or "dyn" in (a, b) or "null" in (a, b)


def _boolean(value: object, op: str) -> bool:
    if type(value) is not bool:
        raise EvaluationError(f"{op} needs bool, not {_kind(value)}")
    return value


def _typed(value: object, kind: str) -> Any:
    if _kind(value) != kind:
        raise EvaluationError(f"expected {kind}, found {_kind(value)}")
    return value


def _equal(a: object, b: object) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        return False  # values of different types (from dyn lists and maps) are not equal
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _contains(container: object, item: object) -> bool:
    if type(container) is list:
        return any(_equal(item, x) for x in container)
    if type(container) is dict:
        return type(item) is str and item in container
    raise EvaluationError(f"'in' needs a list or a map, not {_kind(container)}")


def _int_range(value: int) -> int:
    if not _INT_MIN <= value <= _INT_MAX:
        raise EvaluationError(_("integer overflow (integers are 64-bit)"))
    return value


def _apply(op: str, a: Any, b: Any) -> Any:
    kind = _ARITHMETIC.get((op, _kind(a), _kind(b)))
    if kind is None:
        raise EvaluationError(f"no operator {_kind(a)} {op} {_kind(b)}")
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
        return _int_range(result)
    if kind == "timestamp":
        return _instant_range(result)
    return result


# --- values in and out --------------------------------------------------------------------------


def spell_instant(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: how the engine spells every instant it writes (the audit log's
    own ``format_instant``, whose layer this one may not import)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _instant_range(value: datetime) -> datetime:
    if in_range(value) is None:
        raise EvaluationError("timestamp out of range")
    return value


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
        found = _kind(value)
        if found == kind:
            return list(value) if isinstance(value, tuple) else value
        if kind == "double" and found == "int":
            return float(value)  # type: ignore[arg-type]
        raise EvaluationError(
            _("{field} must be {kind}, not {found}", field=shown, kind=kind, found=found)
        )

    return read


_READERS: dict[str, Callable[[object, str], Any]] = {
    kind: _reader(kind) for kind in ("int", "double", "string", "bool", "list", "map")
}
_READERS["timestamp"] = _read_timestamp

_GO_DURATION = re.compile(r"(-?)((?:\d{1,9}(?:\.\d{1,9})?(?:h|ms|us|ns|m|s))+)")
_DURATION_PART = re.compile(r"(\d{1,9}(?:\.\d{1,9})?)(h|ms|us|ns|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def _to_duration(value: object, name: str) -> timedelta:
    if type(value) is timedelta:
        return value
    text = _typed(value, "string")
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
    text = _typed(value, "string")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _problem_or_error(f"{text!r} is not a date-time with an offset")
    return _instant_range(moment.astimezone(UTC))


class _ConstantProblem(EvaluationError):
    pass


def _problem_or_error(message: str) -> EvaluationError:
    return _ConstantProblem(message)


def _to_int(value: object, name: str) -> int:
    kind = _kind(value)
    if kind == "int":
        return value  # type: ignore[return-value]
    if kind == "double":
        assert isinstance(value, float)
        if not math.isfinite(value) or not _INT_MIN <= value <= _INT_MAX:
            raise EvaluationError("int() of a number out of range")
        return int(value)
    if kind == "string":
        assert isinstance(value, str)
        if not re.fullmatch(r"-?\d{1,19}", value):
            raise EvaluationError(f"int() of {value[:40]!r}")
        return _int_range(int(value))
    if kind == "timestamp":
        assert isinstance(value, datetime)
        return int(value.timestamp())
    raise EvaluationError(f"int() of {kind}")


def _to_double(value: object, name: str) -> float:
    kind = _kind(value)
    if kind in _NUMERIC:
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
    kind = _kind(value)
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


_CONVERSIONS: dict[str, tuple[frozenset[str], str, Callable[[object, str], Any]]] = {
    "int": (frozenset({"int", "double", "string", "timestamp"}), "int", _to_int),
    "double": (frozenset({"int", "double", "string"}), "double", _to_double),
    "string": (frozenset({"int", "double", "string", "bool", "timestamp"}), "string", _to_string),
    "timestamp": (frozenset({"string", "timestamp"}), "timestamp", _to_timestamp),
    "duration": (frozenset({"string", "duration"}), "duration", _to_duration),
}


def _literal_value(token: Any) -> object:
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
        if not _INT_MIN <= value <= _INT_MAX:
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


def to_json(value: object, what: str) -> object:
    """A computed value as instance data holds it (instants as the audit log spells them)."""
    kind = _kind(value)
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


# --- the public face of this module -------------------------------------------------------------


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
    tree = _parse(text)
    compiler = _Compiler(fields)
    try:
        kind, run = compiler.node(tree)
    except _ConstantProblem as exc:
        raise ExpressionProblem(str(exc)) from None
    except RecursionError:  # pragma: no cover - the depth checks come first
        raise ExpressionProblem(_deep()) from None
    if guard:
        if kind not in ("bool", "dyn"):
            raise ExpressionProblem(
                _("a guard must be true or false, but this is {kind}", kind=kind)
            )
    elif result is not None and kind not in _TARGETS[result] | {"dyn", "null"}:
        raise ExpressionProblem(
            _("this is {kind}, which a {type} field cannot hold", kind=kind, type=result)
        )
    return Program(text, kind, run, frozenset(compiler.read))


def reserved_names() -> Iterable[str]:
    """Names an expression reads that are not fields."""
    return _RESERVED
