"""What an actor may see: the one rule the API, its event stream and the web console ask.

An actor sees an instance when

1. it is an auditor (every instance), or the instance is placed in no unit, in the actor's unit,
   or names the actor's unit among its coordinating units (:func:`sees`: no read needed);
2. the instance belongs to a directive the actor oversees: a unit that leads or coordinates an
   item naming a lead oversees its directive (the Standing Committee, the Propaganda Board, the
   Office for 19-CV/ĐUK: the dashboard's rows lead to the item pages), and an administrator
   oversees every directive;
3. the engine lets the actor act on it now: one of the live instance's triggers is allowed for
   the actor, or closed only by a guard (the Office archiving every unit's plan: a role the
   definition grants on any unit). A fire the engine accepts is therefore one on an instance
   its actor sees.

An instance the actor may not see is answered as missing, never as forbidden, so its existence
does not leak. The front ends only ask; none widens or narrows the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workflow.accounts._principal import ADMINISTRATOR_ROLE, AUDITOR_ROLE
from workflow.directives import list_directives
from workflow.errors import NotFound
from workflow.records import Actor, Instance

if TYPE_CHECKING:
    from workflow.engine import Engine


def sees(actor: Actor, unit: str | None, coordinating_units: Sequence[str]) -> bool:
    """The first part of the rule, which needs no read: an auditor sees everything; anyone an
    instance placed in no unit, in their unit, or coordinated by their unit."""
    if AUDITOR_ROLE in actor.roles or unit is None:
        return True
    return actor.unit is not None and (actor.unit == unit or actor.unit in coordinating_units)


class Sight:
    """The rule for one actor, for the length of a request (or one poll of the event stream):
    the directives it oversees are read once, on first need; each instance outside its units
    and those directives costs one read of what it may fire there."""

    def __init__(self, engine: Engine, actor: Actor) -> None:
        self.engine = engine
        self.actor = actor
        self._overseen: frozenset[int] | None = None

    def __call__(self, instance: Instance) -> bool:
        """Whether the actor may see ``instance``."""
        return self.placed(
            instance.id,
            instance.unit,
            instance.coordinating_units,
            instance.directive_id,
            active=instance.active,
        )

    def placed(
        self,
        instance_id: int,
        unit: str | None,
        coordinating_units: Sequence[str],
        directive_id: int | None,
        *,
        active: bool = True,
    ) -> bool:
        """The rule for an instance known by its placing (an event of the outbox carries it);
        ``active=False`` says the instance is finished (nobody acts on it any more)."""
        if sees(self.actor, unit, coordinating_units):
            return True
        if directive_id is not None and directive_id in self.overseen():
            return True
        return active and self.acts_on(instance_id)

    def oversees(self, directive_id: int) -> bool:
        """Whether the actor sees every item of the directive (and its whole report)."""
        return AUDITOR_ROLE in self.actor.roles or directive_id in self.overseen()

    def overseen(self) -> frozenset[int]:
        """The ids of the directives the actor oversees."""
        if self._overseen is None:
            roles, unit = self.actor.roles, self.actor.unit
            self._overseen = frozenset(
                record.id
                for record in list_directives(self.engine)
                if AUDITOR_ROLE in roles
                or ADMINISTRATOR_ROLE in roles
                or (unit is not None and unit in record.overseers)
            )
        return self._overseen

    def acts_on(self, instance_id: int) -> bool:
        """Whether one of the instance's triggers is open to the actor now (or closed only by
        a guard: the form asks for what is missing)."""
        try:
            menu = self.engine.available_triggers(instance_id, self.actor)
        except NotFound:
            return False
        return any(o.allowed or o.closed_by == "guard" for o in menu.options)


def can_see(engine: Engine, actor: Actor, instance: Instance) -> bool:
    """Whether ``actor`` may see ``instance`` (the module's rule, for one instance)."""
    return Sight(engine, actor)(instance)


def visible_instances(engine: Engine, actor: Actor, **filters: Any) -> list[Instance]:
    """:meth:`Engine.instances <workflow.Engine.instances>` (same filters, newest first) limited
    to the instances of the actor's units, of no unit and of the directives it oversees (every
    one for an auditor). One the actor may only act on (the rule's third part) is not listed:
    it is found by its id."""
    return engine.instances(**filters, **_involving(engine, actor))


def count_visible(engine: Engine, actor: Actor, **filters: Any) -> int:
    """How many instances :func:`visible_instances` would list with no limit."""
    return engine.count_instances(**filters, **_involving(engine, actor))


def _involving(engine: Engine, actor: Actor) -> dict[str, Any]:
    if AUDITOR_ROLE in actor.roles:
        return {}  # every instance
    units = [] if actor.unit is None else [actor.unit]
    return {"involving": units, "involving_directives": sorted(Sight(engine, actor).overseen())}
