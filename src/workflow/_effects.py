"""Applying a transition's effects to the instance data, and checking values against fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.definition import model as m
from workflow.definition.expressions import EvaluationError, to_json
from workflow.definition.fieldtypes import type_error
from workflow.errors import InvalidInput
from workflow.hashchain.encoding import format_instant
from workflow.i18n import _
from workflow.registry import GuardContext, Registry, scope_of


def check_fields(definition: m.Definition, values: Mapping[str, Any], what: str) -> None:
    """Refuse undeclared fields and values of the wrong type, naming every problem."""
    problems = []
    for name, value in values.items():
        spec = definition.fields.get(name)
        if spec is None:
            problems.append(f"{name}: not a field of {definition.name}")
            continue
        error = type_error(spec.type, value)
        if error:
            problems.append(f"{name}: {error}")
    if problems:
        raise InvalidInput(f"{what}: " + "; ".join(problems))


def step_effects(
    definition: m.Definition, spec: m.TransitionSpec, source: str
) -> tuple[m.Effect, ...]:
    """The effects of taking ``spec`` from ``source``: the left state's ``on_exit``, the
    transition's own, the entered state's ``on_enter``; a self-transition leaves and enters
    nothing (as it keeps the state's timers)."""
    if spec.dest == source:
        return spec.effects
    leaving, entering = definition.state(source).on_exit, definition.state(spec.dest).on_enter
    if not (leaving or entering):
        return spec.effects
    return leaving + spec.effects + entering


def apply_effects(
    definition: m.Definition, effects: tuple[m.Effect, ...], ctx: GuardContext, registry: Registry
) -> tuple[dict[str, Any], list[m.Spawn]]:
    """The instance data after ``effects``, and the child instances to start."""
    data = dict(ctx.data)
    spawns: list[m.Spawn] = []
    for effect in effects:
        if isinstance(effect, m.Merge):
            merged = {f: ctx.payload[f] for f in effect.fields if f in ctx.payload}
            check_fields(definition, merged, "payload")
            data.update(merged)
        elif isinstance(effect, m.SetField):
            data[effect.field] = _thaw(effect.value)
        elif isinstance(effect, m.Stamp):
            data[effect.field] = format_instant(ctx.now)
        elif isinstance(effect, m.ClearField):
            data.pop(effect.field, None)
        elif isinstance(effect, m.Spawn):
            spawns.append(effect)
        elif isinstance(effect, m.Compute):
            for name, expression in effect.assignments:
                data[name] = _computed(definition, name, expression, scope_of(ctx, data))
        else:
            updates = registry.effects[effect.name](_with_data(ctx, data))
            if updates:
                check_fields(definition, updates, f"effect {effect.name}")
                data.update(updates)
    return data, spawns


def _computed(definition: m.Definition, name: str, expression: m.Expression, scope: Any) -> Any:
    program = expression.program
    assert program is not None  # the validator refuses a definition with a problem
    try:
        value = to_json(program.run(scope), name)
    except EvaluationError as exc:
        raise InvalidInput(
            _(
                "compute {field} = {expression}: {error}",
                field=name,
                expression=expression.text,
                error=exc,
            )
        ) from None
    check_fields(definition, {name: value}, f"compute {name} = {expression.text}")
    return value


def _with_data(ctx: GuardContext, data: dict[str, Any]) -> GuardContext:
    return GuardContext(
        ctx.instance_id,
        ctx.workflow,
        ctx.state,
        ctx.trigger,
        ctx.actor_id,
        ctx.actor_roles,
        data,
        ctx.payload,
        ctx.now,
    )


def _thaw(value: object) -> object:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value
