"""The definition file format as a pydantic schema, and its conversion to the frozen model.

The schema checks shapes (unknown keys, types, one initial state); the graph and cross-reference
checks live in :mod:`workflow.definition.validate`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workflow.definition import model as m
from workflow.definition.durations import calendar_days, parse_duration
from workflow.definition.zones import zone
from workflow.errors import InvalidInput

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""Names of workflows, states, triggers, roles and fields: lower_snake_case."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def _require_one_of(model: BaseModel, what: str, keys: tuple[str, ...]) -> None:
    """A tagged union written as a mapping: exactly one of ``keys`` is given."""
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) != 1:
        names = ", ".join(k.rstrip("_") for k in keys)
        raise ValueError(f"{what} has exactly one of: {names}")


class LabelsModel(_Strict):
    vi: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class FieldModel(_Strict):
    type: Literal[
        "string", "text", "integer", "number", "boolean", "date", "datetime", "list", "object"
    ]
    labels: LabelsModel | None = None


class CompareModel(_Strict):
    field: Annotated[str, Field(min_length=1)]
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"]
    value: Any


class GuardModel(_Strict):
    """Exactly one of the keys: a guard of the built-in vocabulary or a registered function."""

    required: list[Name] | None = None
    compare: CompareModel | None = None
    all: list[GuardModel] | None = None
    any: list[GuardModel] | None = None
    not_: GuardModel | None = Field(default=None, alias="not")
    function: Name | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _exactly_one(self) -> GuardModel:
        _require_one_of(self, "a guard", ("required", "compare", "all", "any", "not_", "function"))
        return self


class SetModel(_Strict):
    field: Name
    value: Any


class SpawnModel(_Strict):
    workflow: Name
    copy_fields: list[Name] = Field(default=[], alias="copy")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EffectModel(_Strict):
    """Exactly one of the keys: merge, set, stamp, clear, function or spawn."""

    merge: list[Name] | None = None
    set: SetModel | None = None
    stamp: Name | None = None
    clear: Name | None = None
    function: Name | None = None
    spawn: SpawnModel | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EffectModel:
        _require_one_of(self, "an effect", ("merge", "set", "stamp", "clear", "function", "spawn"))
        return self


class TimerModel(_Strict):
    """``at`` (a datetime field, with an optional signed ``offset``) or ``after`` (a duration).

    ``zone`` (an IANA name) makes the days of ``offset``/``after`` calendar days in that zone.
    """

    trigger: Name
    at: Name | None = None
    offset: str | None = None
    after: str | None = None
    zone: str | None = None

    @field_validator("offset", "after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zone(value)
            except InvalidInput as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> TimerModel:
        if (self.at is None) == (self.after is None):
            raise ValueError("a timer has exactly one of: at (a datetime field) or after")
        if self.offset is not None and self.at is None:
            raise ValueError("offset goes with at")
        return self


class StateModel(_Strict):
    labels: LabelsModel | None = None
    initial: bool = False
    final: bool = False
    timers: list[TimerModel] = []


class TransitionModel(_Strict):
    trigger: Name
    source: Name | Literal["*"] | list[Name]
    dest: Name
    roles: Annotated[list[Name], Field(min_length=1)]
    guards: list[GuardModel] = []
    effects: list[EffectModel] = []
    require_reason: bool = False
    units: Literal["any", "own", "coordinating", "involved"] = "any"
    labels: LabelsModel | None = None


class DefinitionModel(_Strict):
    """A workflow definition file."""

    name: Name
    labels: LabelsModel
    description: str = ""
    roles: Annotated[dict[Name, LabelsModel | None], Field(min_length=1)]
    fields: dict[Name, FieldModel] = {}
    states: Annotated[dict[Name, StateModel], Field(min_length=1)]
    transitions: list[TransitionModel] = []
    start_roles: list[Name] = []
    deadline_field: Name | None = None

    @field_validator("states")
    @classmethod
    def _one_initial(cls, states: dict[str, StateModel]) -> dict[str, StateModel]:
        initial = [name for name, state in states.items() if state.initial]
        if len(initial) != 1:
            found = ", ".join(initial) or "none"
            raise ValueError(f"exactly one state must be initial: true (found {found})")
        return states


def json_schema() -> dict[str, Any]:
    """The JSON Schema of definition files, for editors."""
    schema = DefinitionModel.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "workflow definition"
    return schema


# --- conversion to the frozen model ------------------------------------------------------------


def _labels(labels: LabelsModel | None) -> m.Labels | None:
    return None if labels is None else m.Labels(vi=labels.vi, en=labels.en)


def _guard(guard: GuardModel) -> m.Guard:
    if guard.required is not None:
        return m.Required(tuple(guard.required))
    if guard.compare is not None:
        c = guard.compare
        return m.Compare(c.field, c.op, _freeze(c.value))
    if guard.all is not None:
        return m.AllOf(tuple(_guard(g) for g in guard.all))
    if guard.any is not None:
        return m.AnyOf(tuple(_guard(g) for g in guard.any))
    if guard.not_ is not None:
        return m.Not(_guard(guard.not_))
    assert guard.function is not None  # the model validator guarantees exactly one key
    return m.FunctionGuard(guard.function)


def _effect(effect: EffectModel) -> m.Effect:
    if effect.merge is not None:
        return m.Merge(tuple(effect.merge))
    if effect.set is not None:
        return m.SetField(effect.set.field, _freeze(effect.set.value))
    if effect.stamp is not None:
        return m.Stamp(effect.stamp)
    if effect.clear is not None:
        return m.ClearField(effect.clear)
    if effect.spawn is not None:
        return m.Spawn(effect.spawn.workflow, tuple(effect.spawn.copy_fields))
    assert effect.function is not None
    return m.FunctionEffect(effect.function)


def _freeze(value: object) -> object:
    """Lists become tuples so the model stays hashable and immutable."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _timer(timer: TimerModel) -> m.TimerSpec:
    return m.TimerSpec(
        trigger=timer.trigger,
        at_field=timer.at,
        offset=parse_duration(timer.offset) if timer.offset else m.TimerSpec.offset,
        after=parse_duration(timer.after) if timer.after else None,
        zone=timer.zone,
        calendar_days=calendar_days(timer.after or timer.offset or "PT0S"),
    )


def to_definition(doc: DefinitionModel, source_text: str, source_file: str) -> m.Definition:
    """Convert a schema-valid document into the frozen model (before graph validation)."""
    states = tuple(
        m.StateSpec(
            name=name,
            labels=_labels(state.labels),
            initial=state.initial,
            final=state.final,
            timers=tuple(_timer(t) for t in state.timers),
        )
        for name, state in doc.states.items()
    )
    non_final = tuple(s.name for s in states if not s.final)
    transitions = tuple(
        m.TransitionSpec(
            index=i,
            trigger=t.trigger,
            sources=non_final
            if t.source == "*"
            else (tuple(t.source) if isinstance(t.source, list) else (t.source,)),
            dest=t.dest,
            roles=tuple(t.roles),
            guards=tuple(_guard(g) for g in t.guards),
            effects=tuple(_effect(e) for e in t.effects),
            require_reason=t.require_reason,
            unit_scope=t.units,
            labels=_labels(t.labels),
        )
        for i, t in enumerate(doc.transitions)
    )
    return m.Definition(
        name=doc.name,
        labels=m.Labels(vi=doc.labels.vi, en=doc.labels.en),
        description=doc.description,
        roles={name: _labels(labels) for name, labels in doc.roles.items()},
        fields={
            name: m.FieldSpec(name, f.type, _labels(f.labels)) for name, f in doc.fields.items()
        },
        states=states,
        transitions=transitions,
        start_roles=tuple(doc.start_roles),
        deadline_field=doc.deadline_field,
        source_text=source_text,
        source_file=source_file,
    )
