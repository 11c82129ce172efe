"""The frozen intermediate representation of a workflow definition.

The loader turns a YAML file into these objects; the validator checks them; the engine builds a
state machine from them. Nothing here knows about YAML, databases or ``transitions``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from workflow.definition.expressions import Program

JSONScalar = str | int | float | bool | None

FieldType = Literal[
    "string", "text", "integer", "number", "boolean", "date", "datetime", "list", "object"
]
FIELD_TYPES: tuple[FieldType, ...] = (
    "string",
    "text",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
    "list",
    "object",
)

CompareOp = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"]
COMPARE_OPS: tuple[CompareOp, ...] = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in")

UnitScope = Literal["any", "own", "coordinating", "involved"]
"""Which units' actors may fire a transition.

``any``: no unit check; ``own``: the actor's unit is the instance's unit (the lead unit);
``coordinating``: the actor's unit is one of the instance's coordinating units;
``involved``: either of the two.
"""
UNIT_SCOPES: tuple[UnitScope, ...] = ("any", "own", "coordinating", "involved")

SYSTEM_ROLE = "system"
"""The role of the engine's own actors (``system:timer``); every definition knows it."""


@dataclass(frozen=True)
class Labels:
    """A human label in Vietnamese and English."""

    vi: str
    en: str


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    labels: Labels | None = None


# --- guards: a fixed vocabulary plus functions registered by name ------------------------------


@dataclass(frozen=True)
class Required:
    """Every named field is present and non-empty."""

    fields: tuple[str, ...]


@dataclass(frozen=True)
class Compare:
    """A field compared with a constant."""

    field: str
    op: CompareOp
    value: object


@dataclass(frozen=True)
class AllOf:
    guards: tuple[Guard, ...]


@dataclass(frozen=True)
class AnyOf:
    guards: tuple[Guard, ...]


@dataclass(frozen=True)
class Not:
    guard: Guard


@dataclass(frozen=True)
class FunctionGuard:
    """A Python function registered by name in a :class:`~workflow.Registry`."""

    name: str


@dataclass(frozen=True)
class Expression:
    """A CEL expression as written, with what compiling it against the fields gave: a program,
    or the problem the validator reports (:mod:`workflow.definition.expressions`)."""

    text: str
    program: Program | None = field(default=None, compare=False, repr=False)
    problem: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ExprGuard:
    """A boolean CEL expression over the fields (``expr: "paid + amount >= total"``)."""

    expression: Expression


Guard = Required | Compare | AllOf | AnyOf | Not | FunctionGuard | ExprGuard


# --- effects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Merge:
    """Copy these declared fields from the call's payload into the instance data."""

    fields: tuple[str, ...]


@dataclass(frozen=True)
class SetField:
    field: str
    value: object


@dataclass(frozen=True)
class Stamp:
    """Set a field to the transition's time (an ISO-8601 UTC instant)."""

    field: str


@dataclass(frozen=True)
class ClearField:
    field: str


@dataclass(frozen=True)
class FunctionEffect:
    name: str


@dataclass(frozen=True)
class Spawn:
    """Start a child instance of another workflow in the same transaction (chaining).

    The child gets the parent's unit, coordinating units, directive and item, and a copy of the
    named fields of the parent's data.
    """

    workflow: str
    copy: tuple[str, ...] = ()


@dataclass(frozen=True)
class Compute:
    """Set fields to the values of CEL expressions, in order; each sees the data as the
    assignments before it left it (``compute: {total: "total + amount"}``)."""

    assignments: tuple[tuple[str, Expression], ...]


Effect = Merge | SetField | Stamp | ClearField | FunctionEffect | Spawn | Compute


# --- timers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimerSpec:
    """A deadline or reminder carried by a state.

    Absolute timers are due at the instant in ``at_field`` (a ``datetime`` field) plus ``offset``
    (negative for "three days before"); relative timers are due ``after`` entering the state,
    or ``business_days`` working days after it.
    With a ``zone`` (IANA name) the ``calendar_days`` written in the duration (``P1D``, not
    ``PT24H``) count on that zone's calendar, so they keep the local hour across DST changes.
    """

    trigger: str
    at_field: str | None = None
    offset: timedelta = timedelta(0)
    after: timedelta | None = None
    zone: str | None = None
    calendar_days: int = 0
    business_days: int | None = None
    """Working days on Vietnam's calendar (:mod:`workflow.workdays`): a relative timer is due
    that many after entering the state; with ``at_field`` they move the field's instant."""
    deadline: bool = False
    """The instance is overdue once this timer is due (``list --overdue``, reports)."""


# --- states, transitions, the definition -------------------------------------------------------


@dataclass(frozen=True)
class StateSpec:
    name: str
    labels: Labels | None = None
    initial: bool = False
    final: bool = False
    timers: tuple[TimerSpec, ...] = ()
    on_enter: tuple[Effect, ...] = ()
    """Effects of every transition that enters this state from another one."""
    on_exit: tuple[Effect, ...] = ()
    """Effects of every transition that leaves this state for another one (before its own)."""


@dataclass(frozen=True)
class TransitionSpec:
    index: int
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()
    require_reason: bool = False
    unit_scope: UnitScope = "any"
    labels: Labels | None = None
    actor_fields: tuple[str, ...] = ()
    """Fields holding actor ids: when given, only an actor named in one of them may fire."""
    automatic: bool = False
    """Taken by the engine itself (as ``system:auto``) right after a step leaves an instance in
    its source state, when its guards hold."""


@dataclass(frozen=True)
class Definition:
    """One workflow definition, as written in one file."""

    name: str
    labels: Labels
    description: str
    roles: Mapping[str, Labels | None]
    fields: Mapping[str, FieldSpec]
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    start_roles: tuple[str, ...] = ()
    deadline_field: str | None = None
    source_text: str = field(default="", repr=False, compare=False)
    source_file: str = field(default="<string>", compare=False)

    # Cached: a frozen definition's derived lookups are asked for on every transition.
    @cached_property
    def initial_state(self) -> StateSpec:
        return next(state for state in self.states if state.initial)

    @cached_property
    def _states_by_name(self) -> Mapping[str, StateSpec]:
        return {state.name: state for state in self.states}

    def state(self, name: str) -> StateSpec:
        return self._states_by_name[name]

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(state.name for state in self.states)

    @property
    def final_states(self) -> frozenset[str]:
        return frozenset(state.name for state in self.states if state.final)

    @cached_property
    def triggers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    @cached_property
    def transitions_by_source(self) -> Mapping[str, tuple[TransitionSpec, ...]]:
        """Each source state's transitions out, in declaration order (one pass, not one per
        question: validation asks it of every state)."""
        out: dict[str, list[TransitionSpec]] = {}
        for t in self.transitions:
            for source in dict.fromkeys(t.sources):
                out.setdefault(source, []).append(t)
        return {state: tuple(ts) for state, ts in out.items()}

    def transitions_for(self, trigger: str, state: str) -> tuple[TransitionSpec, ...]:
        """The transitions ``trigger`` may take from ``state``, in declaration order."""
        return tuple(t for t in self.transitions_by_source.get(state, ()) if t.trigger == trigger)

    def effect_lists(self) -> Iterator[tuple[tuple[str | int, ...], tuple[Effect, ...]]]:
        """Every list of effects, with the key path where the file writes it."""
        for t in self.transitions:
            yield ("transitions", t.index, "effects"), t.effects
        for s in self.states:
            if s.on_enter:
                yield ("states", s.name, "on_enter"), s.on_enter
            if s.on_exit:
                yield ("states", s.name, "on_exit"), s.on_exit

    @cached_property
    def automatic_from(self) -> Mapping[str, tuple[TransitionSpec, ...]]:
        """Each state's automatic transitions out, in declaration order."""
        return {
            state: auto
            for state, ts in self.transitions_by_source.items()
            if (auto := tuple(t for t in ts if t.automatic))
        }

    def triggers_from(self, state: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions_by_source.get(state, ())))
