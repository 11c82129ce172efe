"""Guards and effects: the built-in vocabulary and Python functions registered by name.

Nothing in a definition file is ever evaluated as code: a file can only name a function that the
embedding application registered here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from types import ModuleType
from typing import Any, NamedTuple

from workflow.definition import model as m
from workflow.definition.expressions import EvaluationError, Scope
from workflow.errors import InvalidInput
from workflow.i18n import _


class GuardContext(NamedTuple):
    """What a guard or an effect sees of a transition being attempted.

    Immutable, read by attribute. A named tuple rather than a frozen dataclass: one is built
    for every fire and for every replayed event that reads data or payload, and a frozen
    dataclass's ``__init__`` (nine ``object.__setattr__`` calls) costs four times as much.
    """

    instance_id: int
    workflow: str
    state: str
    trigger: str
    actor_id: str
    actor_roles: frozenset[str]
    data: Mapping[str, Any]
    payload: Mapping[str, Any]
    now: datetime

    @property
    def view(self) -> dict[str, Any]:
        """The instance data with the call's payload laid over it."""
        return {**self.data, **self.payload}


GuardFunction = Callable[[GuardContext], "bool | str"]
"""Returns True to pass, or False or a reason (text) to refuse."""

EffectFunction = Callable[[GuardContext], "Mapping[str, Any] | None"]
"""Returns the field updates to apply to the instance data (declared fields only)."""


@dataclass
class Registry:
    """Named guard and effect functions available to definitions."""

    guards: dict[str, GuardFunction] = field(default_factory=dict)
    effects: dict[str, EffectFunction] = field(default_factory=dict)

    def guard(self, name: str) -> Callable[[GuardFunction], GuardFunction]:
        """Decorator: ``@registry.guard("budget_ok")`` makes ``function: budget_ok`` usable."""

        def register(fn: GuardFunction) -> GuardFunction:
            self.guards[name] = fn
            return fn

        return register

    def effect(self, name: str) -> Callable[[EffectFunction], EffectFunction]:
        """Decorator: ``@registry.effect("number_document")`` for ``function:`` effects."""

        def register(fn: EffectFunction) -> EffectFunction:
            self.effects[name] = fn
            return fn

        return register


default_registry = Registry()
"""The registry used when none is given (and by the CLI)."""

FUNCTIONS_GROUP = "workflow.functions"
"""The entry-point group of packages that register guard and effect functions for the CLI."""


def load_functions(
    modules: Iterable[str] = (), *, registry: Registry | None = None, entry_points: bool = True
) -> list[str]:
    """Import what registers guard and effect functions: each module in ``modules`` (whose
    top level registers on :data:`default_registry`), then, with ``entry_points``, every entry
    point of the group ``workflow.functions`` that installed packages declare (a module, or a
    callable given the registry). Returns what was loaded; a failure is :class:`InvalidInput`.
    """
    target = registry if registry is not None else default_registry
    loaded: list[str] = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # whatever the module raises, the operator must see it
            raise InvalidInput(
                _("cannot load functions from module {name!r}: {why}", name=name, why=exc)
            ) from exc
        loaded.append(name)
    if entry_points:
        for point in metadata.entry_points(group=FUNCTIONS_GROUP):
            try:
                value = point.load()
                if callable(value) and not isinstance(value, ModuleType):
                    value(target)
            except Exception as exc:
                raise InvalidInput(
                    _(
                        "cannot load functions from entry point {name!r} ({value}): {why}",
                        name=point.name,
                        value=point.value,
                        why=exc,
                    )
                ) from exc
            loaded.append(point.value)
    return loaded


# --- evaluation of the built-in vocabulary ------------------------------------------------------


@dataclass(frozen=True)
class GuardOutcome:
    passed: bool
    reasons: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


_PASS = GuardOutcome(True)


def is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict)):
        return len(value) == 0
    return False


def lookup(ctx: GuardContext, path: str) -> tuple[bool, Any]:
    """Resolve ``field``, ``data.field`` or ``payload.field``; returns (found, value)."""
    if path.startswith("data."):
        source: Mapping[str, Any] = ctx.data
        path = path[5:]
    elif path.startswith("payload."):
        source = ctx.payload
        path = path[8:]
    else:
        source = ctx.view
    return (path in source, source.get(path))


def _compare(op: m.CompareOp, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op in ("in", "not_in"):
        inside = left in right if isinstance(right, (tuple, list)) else False
        return inside if op == "in" else not inside
    if left is None or isinstance(left, bool) != isinstance(right, bool):
        return False
    try:
        if op == "lt":
            return bool(left < right)
        if op == "le":
            return bool(left <= right)
        if op == "gt":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        return False


def evaluate_guard(guard: m.Guard, ctx: GuardContext, registry: Registry) -> GuardOutcome:
    """Evaluate one guard; a refusal says why and which required fields are missing."""
    if isinstance(guard, m.Required):
        view = ctx.view
        missing = tuple(f for f in guard.fields if is_empty(view.get(f)))
        if missing:
            reason = _("missing required fields: {fields}", fields=", ".join(missing))
            return GuardOutcome(False, (reason,), missing)
        return _PASS
    if isinstance(guard, m.Compare):
        _found, value = lookup(ctx, guard.field)
        if _compare(guard.op, value, guard.value):
            return _PASS
        reason = _(
            "{field} {op} {expected!r} is false (it is {value!r})",
            field=guard.field,
            op=guard.op,
            expected=guard.value,
            value=value,
        )
        return GuardOutcome(False, (reason,))
    if isinstance(guard, m.AllOf):
        outcomes = [evaluate_guard(g, ctx, registry) for g in guard.guards]
        failed = [o for o in outcomes if not o.passed]
        if not failed:
            return _PASS
        return GuardOutcome(
            False,
            tuple(r for o in failed for r in o.reasons),
            tuple(dict.fromkeys(f for o in failed for f in o.missing)),
        )
    if isinstance(guard, m.AnyOf):
        outcomes = [evaluate_guard(g, ctx, registry) for g in guard.guards]
        if any(o.passed for o in outcomes):
            return _PASS
        return GuardOutcome(
            False, (_("none of: ") + " | ".join(r for o in outcomes for r in o.reasons),)
        )
    if isinstance(guard, m.Not):
        inner = evaluate_guard(guard.guard, ctx, registry)
        return GuardOutcome(False, (_("a negated guard passed"),)) if inner.passed else _PASS
    if isinstance(guard, m.ExprGuard):
        return _expression_guard(guard.expression, ctx)
    function = registry.guards[guard.name]
    verdict = function(ctx)
    if verdict is True:
        return _PASS
    if isinstance(verdict, str) and verdict:
        return GuardOutcome(False, (verdict,))
    return GuardOutcome(False, (_("{name} refused", name=guard.name),))


def scope_of(ctx: GuardContext, data: Mapping[str, Any] | None = None) -> Scope:
    """What an expression reads of ``ctx`` (with ``data`` instead of its data, when given)."""
    now = ctx.now if ctx.now.tzinfo is None else ctx.now.astimezone(UTC)
    return Scope(
        ctx.data if data is None else data,
        ctx.payload,
        now,
        ctx.actor_id,
        ctx.actor_roles,
        ctx.state,
    )


def _expression_guard(expression: m.Expression, ctx: GuardContext) -> GuardOutcome:
    program = expression.program
    assert program is not None  # the validator refuses a definition with a problem
    try:
        verdict = program.run(scope_of(ctx))
    except EvaluationError as exc:
        missing = (exc.missing,) if exc.missing else ()
        return GuardOutcome(False, (f"{expression.text}: {exc}",), missing)
    if verdict is True:
        return _PASS
    if verdict is not False:
        return GuardOutcome(
            False, (_("{expression}: not true or false", expression=expression.text),)
        )
    shown = _values(program.fields, ctx)
    return GuardOutcome(
        False, (_("{expression} is false{values}", expression=expression.text, values=shown),)
    )


def _values(fields: frozenset[str], ctx: GuardContext) -> str:
    """The fields an expression read, as a refusal shows them (like compare's "it is ...")."""
    view = ctx.view
    shown = [f"{name}={view.get(name)!r}" for name in sorted(fields)]
    return f" ({', '.join(shown)})" if shown else ""


def evaluate_all(
    guards: tuple[m.Guard, ...], ctx: GuardContext, registry: Registry
) -> GuardOutcome:
    return evaluate_guard(m.AllOf(guards), ctx, registry) if guards else _PASS
