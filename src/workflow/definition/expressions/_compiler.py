"""The compiler: walks cel-python's tree, type-checks each operation against the declared fields
and returns nested closures, one per operation, counted and depth-bounded as it goes.

Separate from the pieces it assembles (the syntax, the types, the operators, the functions, the
values): this is the walk, one method per grammar rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workflow.definition.expressions._functions import CONVERSIONS, MACROS, STRING_TESTS, no_loops
from workflow.definition.expressions._operators import (
    ARITHMETIC,
    ORDER_OPS,
    ORDERED,
    apply,
    boolean,
    contains,
    equal,
    typed,
)
from workflow.definition.expressions._program import EvaluationError, ExpressionProblem, Node, Scope
from workflow.definition.expressions._syntax import (
    ARITHMETIC_RULES,
    PASS_THROUGH,
    RELATIONS,
    RULE_NAMES,
    constant_string,
    deep,
    identifier,
    is_literal,
    literal_value,
    unwrap,
)
from workflow.definition.expressions._types import (
    FIELD_TYPES,
    comparable,
    expect,
    int_range,
    kind_of,
    mismatch,
)
from workflow.definition.expressions._values import READERS
from workflow.definition.model import FieldSpec
from workflow.i18n import N_, _
from workflow.limits import MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_NODES


class Compiler:
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

    def node(self, tree: Any) -> Node:
        # Wrappers with one child (expr -> conditionalor -> ... -> primary) are walked in a loop.
        while len(tree.children) == 1 and tree.data in PASS_THROUGH:
            tree = tree.children[0]
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:
            raise ExpressionProblem(deep())
        try:
            self.count()
            handler = getattr(self, f"_{tree.data}", None)
            if handler is None:
                raise ExpressionProblem(f"{RULE_NAMES.get(str(tree.data), tree.data)} "
                                        "is not supported")
            result: Node = handler(tree)
            return result
        finally:
            self.depth -= 1

    # ternary, logic
    def _expr(self, tree: Any) -> Node:
        cond, yes, no = (self.node(c) for c in tree.children)
        expect(cond, "bool", "the condition of ? :")
        if yes[0] != no[0] and "dyn" not in (yes[0], no[0]) and "null" not in (yes[0], no[0]):
            raise ExpressionProblem(f"the two branches of ? : differ: {yes[0]} and {no[0]}")
        kind = yes[0] if yes[0] not in ("null", "dyn") else no[0]
        test, left, right = cond[1], yes[1], no[1]

        def choose(s: Scope) -> Any:
            verdict = test(s)
            if type(verdict) is not bool:
                raise EvaluationError(f"the condition of ? : is {kind_of(verdict)}, not bool")
            return left(s) if verdict else right(s)

        return kind, choose

    def _conditionalor(self, tree: Any) -> Node:
        return self._logic(tree, "||", True)

    def _conditionaland(self, tree: Any) -> Node:
        return self._logic(tree, "&&", False)

    def _logic(self, tree: Any, op: str, decides: bool) -> Node:
        left, right = (self.node(c) for c in tree.children)
        expect(left, "bool", f"the left of {op}")
        expect(right, "bool", f"the right of {op}")
        first, second = left[1], right[1]

        def logic(s: Scope) -> bool:
            # CEL's commutative logic: an error on one side is absorbed when the other decides.
            try:
                a = boolean(first(s), op)
            except EvaluationError:
                if boolean(second(s), op) is decides:
                    return decides
                raise
            if a is decides:
                return decides
            return boolean(second(s), op)

        return "bool", logic

    # relations
    def _binary(self, tree: Any, operators: Mapping[str, str]) -> tuple[str, Node, Node]:
        """A binary rule's operator (``[rule_op(left), right]`` in cel-python's tree) and its
        two compiled operands."""
        operator, right_tree = tree.children
        return operators[operator.data], self.node(operator.children[0]), self.node(right_tree)

    def _relation(self, tree: Any) -> Node:
        op, left, right = self._binary(tree, RELATIONS)
        lt, rt = left[0], right[0]
        a, b = left[1], right[1]
        if op == "in":
            if rt not in ("list", "map", "dyn"):
                raise ExpressionProblem(f"'in' needs a list or a map on its right, not {rt}")

            def inside(s: Scope) -> bool:
                return contains(b(s), a(s))

            return "bool", inside
        if op in ("==", "!="):
            if not comparable(lt, rt):
                raise mismatch(N_("{left} {op} {right}: compare like with like{hint}"), lt, op, rt)
            negate = op == "!="

            def equals(s: Scope) -> bool:
                return equal(a(s), b(s)) is not negate

            return "bool", equals
        if "dyn" not in (lt, rt) and (lt, rt) not in ORDERED:
            message = N_("no order between {left} and {right} ({left} {op} {right}){hint}")
            raise mismatch(message, lt, op, rt)
        compare = ORDER_OPS[op]

        def ordered(s: Scope) -> bool:
            x, y = a(s), b(s)
            if (kind_of(x), kind_of(y)) not in ORDERED:
                raise EvaluationError(f"no order between {kind_of(x)} and {kind_of(y)}")
            return bool(compare(x, y))

        return "bool", ordered

    # arithmetic
    def _addition(self, tree: Any) -> Node:
        return self._arithmetic(tree)

    def _multiplication(self, tree: Any) -> Node:
        return self._arithmetic(tree)

    def _arithmetic(self, tree: Any) -> Node:
        op, left, right = self._binary(tree, ARITHMETIC_RULES)
        lt, rt = left[0], right[0]
        if "dyn" in (lt, rt):
            kind = "dyn"
        else:
            found = ARITHMETIC.get((op, lt, rt))
            if found is None:
                raise mismatch(N_("no operator {left} {op} {right}{hint}"), lt, op, rt)
            kind = found
        a, b = left[1], right[1]

        def arithmetic(s: Scope) -> Any:
            return apply(op, a(s), b(s))

        return kind, arithmetic

    def _unary(self, tree: Any) -> Node:
        operator, operand_tree = tree.children
        operand = self.node(operand_tree)
        value = operand[1]
        if operator.data == "unary_not":
            expect(operand, "bool", "!")

            def negation(s: Scope) -> bool:
                return not boolean(value(s), "!")

            return "bool", negation
        if operand[0] not in ("int", "double", "duration", "dyn"):
            raise ExpressionProblem(f"no operator -{operand[0]}")

        def minus(s: Scope) -> Any:
            v = value(s)
            kind = kind_of(v)
            if kind == "int":
                return int_range(-v)
            if kind in ("double", "duration"):
                return -v
            raise EvaluationError(f"no operator -{kind}")

        return operand[0], minus

    # members
    def _member_dot(self, tree: Any) -> Node:
        target_tree, name_token = tree.children
        name = str(name_token)
        root = identifier(target_tree)
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
                raise EvaluationError(refusal.format(kind=kind_of(value)))
            return value

        return mapping

    def _member_index(self, tree: Any) -> Node:
        target = self.node(tree.children[0])
        index = self.node(tree.children[1])
        if target[0] == "list":
            expect(index, "int", "a list index")
        elif target[0] == "map":
            expect(index, "string", "a map key")
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
            raise EvaluationError(f"{kind_of(container)} cannot be indexed by {kind_of(key)}")

        return "dyn", item

    def _member_dot_arg(self, tree: Any) -> Node:
        target_tree, name_token, *rest = tree.children
        name = str(name_token)
        if name in MACROS:
            raise ExpressionProblem(no_loops(name))
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
            expect(target, "string", f"{name}()")
            if len(args) != 1:
                raise ExpressionProblem(f"{name}() takes one argument")
            expect(args[0], "string", f"the argument of {name}()")
            text, part = target[1], args[0][1]
            test = STRING_TESTS[name]

            def string_test(s: Scope) -> bool:
                return test(typed(text(s), "string"), typed(part(s), "string"))

            return "bool", string_test
        raise ExpressionProblem(f"{name}() takes no argument")

    def _ident_arg(self, tree: Any) -> Node:
        name_token, *rest = tree.children
        name = str(name_token)
        arg_trees = list(rest[0].children) if rest else []
        if name == "has":
            return self._has(arg_trees)
        if name in MACROS:
            raise ExpressionProblem(no_loops(name))
        if name not in CONVERSIONS and name != "size":
            raise ExpressionProblem(_("unknown function {name}()", name=name))
        if len(arg_trees) != 1:
            raise ExpressionProblem(f"{name}() takes one argument")
        arg = self.node(arg_trees[0])
        if name == "size":
            return self._size(arg)
        accepts, result, convert = CONVERSIONS[name]
        if arg[0] not in accepts and arg[0] != "dyn":
            raise ExpressionProblem(f"{name}() takes {' or '.join(sorted(accepts))}, not {arg[0]}")
        value = arg[1]
        if name in ("timestamp", "duration") and is_literal(arg_trees[0]):
            constant = convert(constant_string(arg_trees[0]), name)  # refused here if bad
            return result, lambda s: constant

        def conversion(s: Scope) -> Any:
            return convert(value(s), name)

        return result, conversion

    def _size(self, target: Node) -> Node:
        if target[0] not in ("string", "list", "map", "dyn"):
            raise ExpressionProblem(f"size() takes a string, list or map, not {target[0]}")
        get = target[1]

        def size(s: Scope) -> int:
            v = get(s)
            if type(v) not in (str, list, dict):
                raise EvaluationError(f"size() of {kind_of(v)}")
            return len(v)

        return "int", size

    def _has(self, arg_trees: list[Any]) -> Node:
        member = unwrap(arg_trees[0]) if len(arg_trees) == 1 else None
        if member is None or member.data != "member_dot":
            raise ExpressionProblem("has() takes a field selection: has(payload.x), has(data.x)")
        target_tree, name_token = member.children
        name = str(name_token)
        root = identifier(target_tree)
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
    def _paren_expr(self, tree: Any) -> Node:
        return self.node(tree.children[0])

    def _list_lit(self, tree: Any) -> Node:
        items = [self.node(c) for c in (tree.children[0].children if tree.children else ())]
        getters = [i[1] for i in items]
        return "list", lambda s: [g(s) for g in getters]

    def _literal(self, tree: Any) -> Node:
        token = tree.children[0]
        value = literal_value(token)
        return kind_of(value), lambda s: value

    def _ident(self, tree: Any) -> Node:
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

    def _field(self, name: str, source: str | None) -> Node:
        spec = self._declared(name)
        self.read.add(name)
        kind = FIELD_TYPES[spec.type]
        convert = READERS[kind]
        shown = name if source is None else f"{source}.{name}"

        from_payload = source == "payload"

        def read(s: Scope) -> Any:
            value = (s.payload if from_payload else s.data).get(name)
            if value is None:
                raise EvaluationError(_("{field} is missing", field=shown), missing=name)
            return convert(value, shown)

        return kind, read
