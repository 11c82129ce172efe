"""The transitions a trigger may take from a state, and which one an attempt takes.

Separate from the replay's walk because a plan is built once per (definition, trigger, state) and
remembers, where no guard reads the data, the transition each actor's attempt comes to: the
replay of a chain's common event is then a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflow._effects import step_effects
from workflow._machine import StepContext, admits
from workflow.definition import model as m
from workflow.registry import GuardContext, Registry


@dataclass(frozen=True)
class Choice:
    """What one attempt of a trigger comes to: the transition taken and its effects, or why
    none could be taken."""

    spec: m.TransitionSpec | None
    effects: tuple[m.Effect, ...] = ()
    refusal: str = ""


_MAX_CHOICES = 4096
"""Per plan, the unguarded attempts remembered (by actor, and by placement where a transition
is unit-scoped); the memory of a verification stays bounded on any log."""


@dataclass(frozen=True)
class Plan:
    """The transitions a trigger may take from a state, in declaration order, and what their
    replay reads: the guards' context at all, and the time (a guard or a non-merge effect).

    Without guards, which transition an attempt takes depends only on the actor (and, where a
    transition is unit-scoped, the instance's placement): those answers are remembered in
    ``choices``, so a chain's common event costs a lookup instead of the roles and scope
    checks."""

    definition: m.Definition
    state: str
    specs: tuple[m.TransitionSpec, ...]
    guarded: bool
    reads_time: bool
    scoped: bool
    choices: dict[Any, Choice] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, definition: m.Definition, state: str, specs: tuple[m.TransitionSpec, ...]) -> Plan:
        guarded = any(s.guards or s.actor_fields for s in specs)
        plain = (m.Merge, m.SetField, m.ClearField, m.Spawn)
        timeless = all(
            isinstance(e, plain) for s in specs for e in step_effects(definition, s, state)
        )
        scoped = any(s.unit_scope != "any" for s in specs)
        return cls(definition, state, specs, guarded, guarded or not timeless, scoped)

    def choose(self, step: StepContext, registry: Registry) -> Choice:
        """The first transition ``step`` admits (:func:`workflow._machine.admits`)."""
        for spec in self.specs:
            if admits(spec, step, registry):
                return Choice(spec, step_effects(self.definition, spec, self.state))
        refusals = dict.fromkeys(step.role_refusals + step.guard_refusals)
        return Choice(None, refusal="; ".join(refusals))

    def remember(self, key: Any, choice: Choice) -> None:
        if len(self.choices) >= _MAX_CHOICES:
            self.choices.clear()
        self.choices[key] = choice


UNGUARDED = GuardContext(0, "", "", "", "", frozenset(), {}, {}, datetime.min)
"""What the conditions of unguarded transitions see: roles and units are read from the step."""
