"""Who is looking and what they may do: the viewer and the actions.

Every page asks here, on the server, before it reads or fires anything. Seeing an instance, and
overseeing a directive, is the library's rule (:class:`workflow.accounts.Sight`, the viewer's
``sees``: the same the API asks); what a person may fire is the engine's
(:meth:`workflow.Engine.available_triggers`). The console adds one rule of its own: an auditor
fires nothing through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workflow import Actor, Definition, Engine, Instance
from workflow.accounts import ADMINISTRATOR_ROLE, AUDITOR_ROLE, Sight
from workflow.directives import DirectiveRecord

SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class Viewer:
    """The authenticated person behind a request, as the pages need them."""

    actor: Actor
    account: str
    display_name: str | None
    sees: Sight
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


def oversees(viewer: Viewer, directive: DirectiveRecord) -> bool:
    """Whether ``viewer`` sees every unit's rows of ``directive`` (the library's rule:
    :meth:`Sight.oversees <workflow.accounts.Sight.oversees>`)."""
    return viewer.sees.oversees(directive.id)


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


def actions(engine: Engine, viewer: Viewer, instance: Instance, lang: str) -> list[Action]:
    """The triggers ``viewer`` may fire on ``instance`` now, each with its form: those the
    engine's :meth:`~workflow.Engine.available_triggers` allows, and those only a guard closes
    (the form asks for what it misses). A form has the fields the transitions ``merge``, those
    a ``required`` guard names marked required, and a reason box where a transition demands
    one. None for an auditor or a finished instance."""
    if not viewer.may_act or not instance.active:
        return []
    menu = engine.available_triggers(instance.id, viewer.actor)
    definition = engine.definition(menu.instance.workflow, menu.instance.definition_version)
    found: list[Action] = []
    for option in menu.options:
        if not (option.allowed or option.closed_by == "guard"):
            continue
        specs = definition.transitions_for(option.trigger, menu.instance.state)
        merged: dict[str, None] = {}
        required = set(option.missing_fields)
        for spec in specs:
            for effect in spec.effects:  # merge is the effect that names payload fields
                for name in getattr(effect, "fields", ()):
                    merged[name] = None
            for guard in spec.guards:  # required is the top-level guard that names fields
                required.update(getattr(guard, "fields", ()))
        found.append(
            Action(
                trigger=option.trigger,
                label=(_pick(specs[0].labels, lang) if specs else None) or option.trigger,
                require_reason=option.requires_reason or any(s.require_reason for s in specs),
                fields=tuple(
                    _field(definition, name, lang, name in required)
                    for name in merged
                    if name in definition.fields
                ),
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
