"""Who is calling, once authenticated."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.records import Actor

AUDITOR_ROLE = "auditor"
"""Reads every instance and the whole log (verify, export); fires only what its roles allow."""
ADMINISTRATOR_ROLE = "administrator"
"""Oversees every directive (sees each one's items, whatever their unit)."""


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
