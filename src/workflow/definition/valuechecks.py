"""Constants in a definition checked against the declared field types, as the engine uses them.

A ``set`` writes its value into a field, a ``stamp`` writes the transition's instant: each must
fit the field's type, exactly as a value sent through ``--data`` or ``merge`` must. A ``compare``
that can never pass (a text constant against a number field, ``in`` with one scalar, ordering on
booleans, lists or objects, a mapping such as ``{field: x}`` where a constant belongs) deploys and
silently refuses every fire: each is a finding here, quoting the value and giving the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from workflow.definition import model as m
from workflow.definition.fieldtypes import type_error
from workflow.definition.yamlsafe import Path

Finding = tuple[Path, str]

_ORDERING: frozenset[m.CompareOp] = frozenset({"lt", "le", "gt", "ge"})
_UNORDERED: frozenset[m.FieldType] = frozenset({"boolean", "list", "object"})
_SAMPLE_STAMP = "2020-09-07T08:00:00.000000Z"  # the spelling of every stamped instant


def _plain(value: object) -> object:
    """The value as the engine stores it (the model freezes lists into tuples)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _json(value: object) -> str:
    """A value as the file would spell it (true, null, "text")."""
    return json.dumps(value, ensure_ascii=False, default=str)


def field_of(guard: m.Compare) -> str:
    """The declared field a compare reads (``data.x`` and ``payload.x`` read ``x``)."""
    if guard.field.startswith(("data.", "payload.")):
        return guard.field.split(".", 1)[1]
    return guard.field


def _compare_guards(guards: tuple[m.Guard, ...], path: Path) -> Iterator[tuple[m.Compare, Path]]:
    for index, guard in enumerate(guards):
        here: Path = (*path, index)
        if isinstance(guard, m.Compare):
            yield guard, (*here, "compare", "value")
        elif isinstance(guard, m.AllOf):
            yield from _compare_guards(guard.guards, (*here, "all"))
        elif isinstance(guard, m.AnyOf):
            yield from _compare_guards(guard.guards, (*here, "any"))
        elif isinstance(guard, m.Not):
            yield from _compare_guards((guard.guard,), (*here, "not"))


def _fits(field_type: m.FieldType, value: object) -> str | None:
    """What is wrong with ``value`` as a constant of ``field_type`` (integers take numbers)."""
    return type_error("number" if field_type == "integer" else field_type, value)


def compare_problem(guard: m.Compare, field: m.FieldSpec) -> str | None:
    """Why ``guard`` can never pass on ``field``, with the fix; None when it can."""
    value = _plain(guard.value)
    shown = f"{guard.field} {guard.op} {_json(value)}"
    if isinstance(value, dict) and field.type != "object":
        return (
            f"{shown}: the value is a mapping, which never equals a {field.type} field "
            "(a compare takes a constant; to compare two fields, register a guard function)"
        )
    if guard.op in ("in", "not_in"):
        if not isinstance(value, list):
            return f"{shown}: {guard.op} takes a list of values (write value: [{_json(value)}])"
        for item in value:
            error = _fits(field.type, item)
            if error:
                kind = f"{field.type} field {field.name!r}"
                return f"{shown}: {_json(item)} never matches {kind} ({error})"
        return None
    if guard.op in _ORDERING:
        if field.type in _UNORDERED:
            return (
                f"{shown}: {field.type} field {field.name!r} has no order "
                "(use eq or ne, or in with a list)"
            )
        if value is None:
            return f"{shown}: nothing is ordered against null (compare with a constant)"
    error = _fits(field.type, value)
    if error:
        return f"{shown}: {field.type} field {field.name!r} never matches this value ({error})"
    return None


def impossible_comparisons(d: m.Definition) -> Iterator[Finding]:
    """Compares that can never pass on the declared type of their field."""
    for t in d.transitions:
        for guard, path in _compare_guards(t.guards, ("transitions", t.index, "guards")):
            spec = d.fields.get(field_of(guard))
            if spec is None:
                continue  # reported as an undeclared field
            problem = compare_problem(guard, spec)
            if problem:
                yield path, problem


def typed_effects(d: m.Definition) -> Iterator[Finding]:
    """``set`` values and ``stamp`` instants that would not fit their field."""
    for base, effects in d.effect_lists():
        for index, effect in enumerate(effects):
            path: Path = (*base, index)
            if isinstance(effect, m.SetField):
                spec = d.fields.get(effect.field)
                value = _plain(effect.value)
                error = None if spec is None else type_error(spec.type, value)
                if spec is not None and error:
                    yield (
                        (*path, "set", "value"),
                        (
                            f"set {effect.field} = {_json(value)}: {spec.type} field "
                            f"{effect.field!r} {error} "
                            "(write a value of that type, or change the field's type)"
                        ),
                    )
            elif isinstance(effect, m.Stamp):
                spec = d.fields.get(effect.field)
                if spec is not None and type_error(spec.type, _SAMPLE_STAMP):
                    yield (
                        (*path, "stamp"),
                        (
                            f"stamp {effect.field}: a stamp writes an instant "
                            f"({_SAMPLE_STAMP}), but {effect.field!r} is a {spec.type} field "
                            "(declare it type: datetime)"
                        ),
                    )
