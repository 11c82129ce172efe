"""Who is calling, once authenticated, and which instances they may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workflow.records import Actor, Instance

if TYPE_CHECKING:
    from workflow.engine import Engine

AUDITOR_ROLE = "auditor"
"""Reads every instance and the whole log (verify, export); fires only what its roles allow."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the registered actor it acts as (roles and unit read from the
    registry when it authenticated), the credential (``user:NAME`` or ``token:ID``), and the
    channel it came through (``api``, ``web``, ``cli``), which every fire it makes records."""

    actor: Actor
    account: str
    channel: str
    display_name: str | None = None

    @property
    def auditor(self) -> bool:
        return AUDITOR_ROLE in self.actor.roles


def can_see(actor: Actor, instance: Instance) -> bool:
    """Whether ``actor`` may read ``instance``: its unit is the instance's own or one of its
    coordinating units, the instance belongs to no unit, or the actor is an auditor. An instance
    it may not see is answered as missing (never "forbidden"), so its existence does not leak."""
    return sees(actor, instance.unit, instance.coordinating_units)


def sees(actor: Actor, unit: str | None, coordinating_units: Sequence[str]) -> bool:
    """:func:`can_see` for an instance placed in ``unit`` with these coordinating units (an
    event of the outbox carries both)."""
    if AUDITOR_ROLE in actor.roles or unit is None:
        return True
    return actor.unit is not None and (actor.unit == unit or actor.unit in coordinating_units)


def visible_instances(engine: Engine, actor: Actor, **filters: Any) -> list[Instance]:
    """:meth:`Engine.instances` restricted to what ``actor`` may see (:func:`can_see`)."""
    return engine.instances(**filters, involving=_involving(actor))


def count_visible(engine: Engine, actor: Actor, **filters: Any) -> int:
    """How many instances :func:`visible_instances` would list with no limit."""
    return engine.count_instances(**filters, involving=_involving(actor))


def _involving(actor: Actor) -> list[str] | None:
    if AUDITOR_ROLE in actor.roles:
        return None  # every instance
    return [] if actor.unit is None else [actor.unit]
