"""Who is looking and what they may do: the viewer, the directive's overseers, the actions.

Every page asks here, on the server, before it reads or fires anything. Seeing an instance is
the library's rule (:func:`workflow.accounts.can_see`, handed in as ``Viewer.sees``); this module
adds the console's own two rules: an auditor fires nothing through the console, and the units
that lead or coordinate an item of a directive that names a lead (the Standing Committee, the
Propaganda Board, the Office for 19-CV/ĐUK) oversee the whole directive's dashboard. What a
person may fire is read from the definition the way the engine will check it (roles, then unit
scope); guards are left to the engine, whose refusal the page shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workflow import Actor, Definition, Instance

AUDITOR_ROLE = "auditor"
"""Reads every page, fires nothing through the console."""
ADMINISTRATOR_ROLE = "administrator"
"""Reads the definitions pages and the administrators' log besides what its unit shows."""
SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class Viewer:
    """The authenticated person behind a request, as the pages need them."""

    actor: Actor
    account: str
    display_name: str | None
    sees: Callable[[Instance], bool]
    """The library's visibility rule for this actor (an unseen instance is a missing one)."""

    @property
    def auditor(self) -> bool:
        return AUDITOR_ROLE in self.actor.roles

    @property
    def administrator(self) -> bool:
        return ADMINISTRATOR_ROLE in self.actor.roles

    @property
    def reads_everything(self) -> bool:
        return self.auditor or self.administrator

    @property
    def may_act(self) -> bool:
        """Whether the console shows this person any form that fires (an auditor: never)."""
        return not self.auditor


def oversees(viewer: Viewer, document: Mapping[str, Any]) -> bool:
    """Whether ``viewer`` sees every unit's rows of the directive whose document is given: an
    auditor or administrator, or a member of a unit that leads or coordinates one of its items
    that names a lead."""
    if viewer.reads_everything:
        return True
    unit = viewer.actor.unit
    if unit is None:
        return False
    for item in document.get("items", ()):
        lead = item.get("lead")
        if lead and (unit == lead or unit in (item.get("coordinating") or ())):
            return True
    return False


@dataclass(frozen=True)
class Field:
    """One input of an action's form, from the definition's typed field."""

    name: str
    type: str
    label: str
    required: bool


@dataclass(frozen=True)
class Action:
    """A trigger the viewer may fire on an instance now (the engine still checks the guards)."""

    trigger: str
    label: str
    require_reason: bool
    fields: tuple[Field, ...]


def _unit_allows(scope: str, actor: Actor, instance: Instance) -> bool:
    if scope == "any":
        return True
    own = actor.unit is not None and actor.unit == instance.unit
    helps = actor.unit is not None and actor.unit in instance.coordinating_units
    return {"own": own, "coordinating": helps}.get(scope, own or helps)


def actions(viewer: Viewer, definition: Definition, instance: Instance, lang: str) -> list[Action]:
    """The triggers ``viewer`` may fire on ``instance`` in its current state, each with its form:
    the fields its transitions merge (those a ``required`` guard names marked required) and a
    reason box where a transition demands one. None for an auditor or a finished instance."""
    if not viewer.may_act or not instance.active:
        return []
    found: list[Action] = []
    for trigger in definition.triggers_from(instance.state):
        specs = [
            spec
            for spec in definition.transitions_for(trigger, instance.state)
            if not viewer.actor.roles.isdisjoint(set(spec.roles) - {SYSTEM_ROLE})
            and _unit_allows(spec.unit_scope, viewer.actor, instance)
        ]
        if not specs:
            continue
        merged: dict[str, None] = {}
        required: set[str] = set()
        for spec in specs:
            for effect in spec.effects:  # merge is the effect that names payload fields
                for name in getattr(effect, "fields", ()):
                    merged[name] = None
            for guard in spec.guards:  # required is the top-level guard that names fields
                required.update(getattr(guard, "fields", ()))
        first = specs[0]
        found.append(
            Action(
                trigger=trigger,
                label=_pick(first.labels, lang) or trigger,
                require_reason=any(spec.require_reason for spec in specs),
                fields=tuple(_field(definition, name, lang, name in required) for name in merged),
            )
        )
    return found


def _field(definition: Definition, name: str, lang: str, required: bool) -> Field:
    spec = definition.fields[name]
    return Field(name, spec.type, _pick(spec.labels, lang) or name, required)


def _pick(labels: Any, lang: str) -> str | None:
    if labels is None:
        return None
    return str(labels.en if lang == "en" else labels.vi)


def state_label(definition: Definition, state: str, lang: str) -> str:
    return _pick(definition.state(state).labels, lang) or state


def workflow_label(definition: Definition, lang: str) -> str:
    return _pick(definition.labels, lang) or definition.name


def role_labels(definition: Definition, roles: Sequence[str], lang: str) -> str:
    return ", ".join(_pick(definition.roles.get(role), lang) or role for role in roles)
