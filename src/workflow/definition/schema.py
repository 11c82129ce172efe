"""The definition file format as a pydantic schema (and its JSON Schema, for editors).

The schema checks shapes (unknown keys, types, one initial state); the graph and cross-reference
checks live in :mod:`workflow.definition.validate`; :mod:`workflow.definition.build` turns the
checked document (``model_dump(by_alias=True)``) into the frozen model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workflow.definition.durations import parse_duration
from workflow.definition.zones import zone
from workflow.errors import InvalidInput
from workflow.i18n import _

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""Names of workflows, states, triggers, roles and fields: lower_snake_case."""
ExpressionText = Annotated[str, Field(min_length=1)]
"""A CEL expression; compiled and type-checked against the fields when the model is built."""


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
    expr: ExpressionText | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _exactly_one(self) -> GuardModel:
        _require_one_of(
            self, "a guard", ("required", "compare", "all", "any", "not_", "function", "expr")
        )
        return self


class SetModel(_Strict):
    field: Name
    value: Any


class SpawnModel(_Strict):
    workflow: Name
    copy_fields: list[Name] = Field(default=[], alias="copy")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EffectModel(_Strict):
    """Exactly one of the keys: merge, set, stamp, clear, function, spawn or compute."""

    merge: list[Name] | None = None
    set: SetModel | None = None
    stamp: Name | None = None
    clear: Name | None = None
    function: Name | None = None
    spawn: SpawnModel | None = None
    compute: Annotated[dict[Name, ExpressionText], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EffectModel:
        _require_one_of(
            self,
            "an effect",
            ("merge", "set", "stamp", "clear", "function", "spawn", "compute"),
        )
        return self


class TimerModel(_Strict):
    """``at`` (a datetime field, with an optional signed ``offset``) or ``after`` (a duration).

    ``zone`` (an IANA name) makes the days of ``offset``/``after`` calendar days in that zone.
    ``business_days`` counts working days on Vietnam's calendar (Asia/Ho_Chi_Minh) instead:
    alone, due that many working days after entering the state; with ``at``, signed, moving the
    field's instant by that many working days.
    """

    trigger: Name
    at: Name | None = None
    offset: str | None = None
    after: str | None = None
    zone: str | None = None
    business_days: Annotated[int, Field(strict=True)] | None = None
    deadline: bool = False

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
        relative = self.after is not None or (self.business_days is not None and self.at is None)
        if (self.at is None) == (not relative) or (self.after and self.business_days):
            raise ValueError(
                _("a timer has exactly one of: at (a datetime field), after or business_days")
            )
        if self.offset is not None and self.at is None:
            raise ValueError("offset goes with at")
        if self.offset is not None and self.business_days is not None:
            raise ValueError(
                _("give offset (a duration) or business_days (working days), not both")
            )
        return self


class StateModel(_Strict):
    labels: LabelsModel | None = None
    initial: bool = False
    final: bool = False
    timers: list[TimerModel] = []
    on_enter: list[EffectModel] = []
    on_exit: list[EffectModel] = []


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
    actors: list[Name] = []
    automatic: bool = False


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
