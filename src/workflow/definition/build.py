"""The one builder of the frozen model, from a definition document in plain form.

A document is what a definition file holds: mappings, lists and scalars, keyed as in the file
(``not``, ``copy``). The loader builds from the schema-checked document (the pydantic model
dumped, every default filled in); the catalog builds a deployed version from its stored source,
parsed again without the schema (pydantic is the slowest import of a one-shot process), once the
parsed content is proven to be the one validated at deploy (same content hash). Keys the file
leaves out take the schema's defaults here (``tests/test_definition_build.py`` holds the two in
step), and a value the schema would have coerced (``final: "yes"``) raises :class:`NotPlain`, so
that the caller builds through the schema instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.definition import model as m
from workflow.definition.durations import calendar_days, parse_duration
from workflow.definition.expressions import ExpressionProblem, compile_expression

Document = Mapping[str, Any]


class NotPlain(Exception):
    """The document holds a value only the schema knows how to read (a bool written as text)."""


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise NotPlain(repr(value))
    return value


def _labels(labels: Document | None) -> m.Labels | None:
    return None if labels is None else m.Labels(vi=labels["vi"], en=labels["en"])


def _freeze(value: object) -> object:
    """Lists become tuples so the model stays hashable and immutable."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


Fields = Mapping[str, m.FieldSpec]


def _expression(text: str, fields: Fields, result: m.FieldType | None, guard: bool) -> m.Expression:
    """Compile now: a problem is kept for the validator to report with file and line."""
    try:
        program = compile_expression(text, fields, result=result, guard=guard)
    except ExpressionProblem as exc:
        return m.Expression(text, None, str(exc))
    return m.Expression(text, program)


def _guard(guard: Document, fields: Fields) -> m.Guard:
    if guard.get("expr") is not None:
        return m.ExprGuard(_expression(guard["expr"], fields, None, True))
    if guard.get("required") is not None:
        return m.Required(tuple(guard["required"]))
    if guard.get("compare") is not None:
        c = guard["compare"]
        return m.Compare(c["field"], c["op"], _freeze(c["value"]))
    if guard.get("all") is not None:
        return m.AllOf(tuple(_guard(g, fields) for g in guard["all"]))
    if guard.get("any") is not None:
        return m.AnyOf(tuple(_guard(g, fields) for g in guard["any"]))
    if guard.get("not") is not None:
        return m.Not(_guard(guard["not"], fields))
    return m.FunctionGuard(guard["function"])  # the schema guarantees exactly one key


def _effect(effect: Document, fields: Fields) -> m.Effect:
    if effect.get("compute") is not None:
        return m.Compute(
            tuple(
                (name, _expression(text, fields, _type_of(fields, name), False))
                for name, text in effect["compute"].items()
            )
        )
    if effect.get("merge") is not None:
        return m.Merge(tuple(effect["merge"]))
    if effect.get("set") is not None:
        return m.SetField(effect["set"]["field"], _freeze(effect["set"]["value"]))
    if effect.get("stamp") is not None:
        return m.Stamp(effect["stamp"])
    if effect.get("clear") is not None:
        return m.ClearField(effect["clear"])
    if effect.get("spawn") is not None:
        spawn = effect["spawn"]
        return m.Spawn(spawn["workflow"], tuple(spawn.get("copy", ())))
    return m.FunctionEffect(effect["function"])


def _type_of(fields: Fields, name: str) -> m.FieldType | None:
    spec = fields.get(name)
    return None if spec is None else spec.type


def _timer(timer: Document) -> m.TimerSpec:
    offset, after = timer.get("offset"), timer.get("after")
    return m.TimerSpec(
        trigger=timer["trigger"],
        at_field=timer.get("at"),
        offset=parse_duration(offset) if offset else m.TimerSpec.offset,
        after=parse_duration(after) if after else None,
        zone=timer.get("zone"),
        calendar_days=calendar_days(after or offset or "PT0S"),
        business_days=timer.get("business_days"),
        deadline=_flag(timer.get("deadline", False)),
    )


def _sources(source: str | list[str], non_final: tuple[str, ...]) -> tuple[str, ...]:
    if source == "*":
        return non_final
    return tuple(source) if isinstance(source, list) else (source,)


def to_definition(doc: Document, source_text: str, source_file: str) -> m.Definition:
    """Convert a schema-valid document into the frozen model (before graph validation)."""
    fields = {
        name: m.FieldSpec(name, f["type"], _labels(f.get("labels")))
        for name, f in doc.get("fields", {}).items()
    }
    states = tuple(
        m.StateSpec(
            name=name,
            labels=_labels(state.get("labels")),
            initial=_flag(state.get("initial", False)),
            final=_flag(state.get("final", False)),
            timers=tuple(_timer(t) for t in state.get("timers", ())),
            on_enter=tuple(_effect(e, fields) for e in state.get("on_enter", ())),
            on_exit=tuple(_effect(e, fields) for e in state.get("on_exit", ())),
        )
        for name, state in doc["states"].items()
    )
    non_final = tuple(s.name for s in states if not s.final)
    transitions = tuple(
        m.TransitionSpec(
            index=i,
            trigger=t["trigger"],
            sources=_sources(t["source"], non_final),
            dest=t["dest"],
            roles=tuple(t["roles"]),
            guards=tuple(_guard(g, fields) for g in t.get("guards", ())),
            effects=tuple(_effect(e, fields) for e in t.get("effects", ())),
            require_reason=_flag(t.get("require_reason", False)),
            unit_scope=t.get("units", "any"),
            labels=_labels(t.get("labels")),
            actor_fields=tuple(t.get("actors", ())),
            automatic=_flag(t.get("automatic", False)),
        )
        for i, t in enumerate(doc.get("transitions", ()))
    )
    return m.Definition(
        name=doc["name"],
        labels=m.Labels(vi=doc["labels"]["vi"], en=doc["labels"]["en"]),
        description=doc.get("description", ""),
        roles={name: _labels(labels) for name, labels in doc["roles"].items()},
        fields=fields,
        states=states,
        transitions=transitions,
        start_roles=tuple(doc.get("start_roles", ())),
        deadline_field=doc.get("deadline_field"),
        source_text=source_text,
        source_file=source_file,
    )
