"""The values the engine hands back: actors, instances, audit events, results. All immutable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from workflow.errors import InvalidInput
from workflow.limits import MAX_ACTOR_ID_CHARS, MAX_UNIT_CHARS, check_optional, check_text

# The records of the public API, listed here once: the root (``workflow``) re-exports these.
__all__ = [
    "Actor",
    "AuditEvent",
    "DeployResult",
    "DeployedDefinition",
    "FireResult",
    "Instance",
    "RegisteredActor",
    "TriggerMenu",
    "TriggerOption",
]

SYSTEM_TIMER = "system:timer"
SYSTEM_AUTO = "system:auto"
"""The engine itself, taking an automatic transition right after a step."""
SYSTEM_PREFIX = "system:"
SYSTEM_ROLE = "system"


def reserved_part(actor_id: str, roles: Iterable[str]) -> str | None:
    """What in an identity only the engine's own actors may hold, or None for a person's."""
    if actor_id.startswith(SYSTEM_PREFIX) or actor_id == SYSTEM_ROLE:
        return f"the id {actor_id!r}"
    if SYSTEM_ROLE in roles:
        return f"the role {SYSTEM_ROLE!r}"
    return None


@dataclass(frozen=True)
class Actor:
    """Who fires a transition: an id, its roles and (optionally) the unit it belongs to.

    The embedding application authenticates people; the engine only authorizes actors.
    """

    id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    unit: str | None = None

    def __init__(self, id: str, roles: Iterable[str] = (), unit: str | None = None) -> None:
        if not isinstance(id, str) or not id.strip():
            raise InvalidInput("an actor needs a non-empty id")
        if isinstance(roles, str):
            roles = (roles,)
        roles = frozenset(roles)
        # Checked here so that every entry point (API, CLI, timers) refuses the same values.
        check_text(id, "actor id", MAX_ACTOR_ID_CHARS)
        for role in roles:
            check_text(role, "role", MAX_ACTOR_ID_CHARS)
        check_optional(unit, "actor unit", MAX_UNIT_CHARS)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "unit", unit)

    @classmethod
    def system(cls, name: str = SYSTEM_TIMER) -> Actor:
        return cls(name, roles=(SYSTEM_ROLE,))


@dataclass(frozen=True)
class RegisteredActor:
    """An actor as registered for the CLI (``workflow actors add``), with its display name."""

    id: str
    roles: frozenset[str]
    unit: str | None
    name: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.roles, self.unit)


@dataclass(frozen=True)
class Instance:
    """One running (or finished) workflow instance, as stored."""

    id: int
    workflow: str
    definition_version: int
    state: str
    data: Mapping[str, Any]
    version: int
    active: bool
    unit: str | None
    coordinating_units: tuple[str, ...]
    directive_id: int | None
    item_key: str | None
    parent_id: int | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AuditEvent:
    """One link of an instance's hash chain: a start, a transition or a migration."""

    id: int
    instance_id: int
    seq: int
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str
    actor: str
    actor_roles: tuple[str, ...]
    actor_unit: str | None
    reason: str | None
    payload: Mapping[str, Any]
    data: Mapping[str, Any]
    workflow: str
    definition_version: int
    definition_hash: str
    occurred_at: datetime
    prev_hash: str
    hash: str
    channel: str | None = None
    """Where the transition came from (``api``, ``web``, ``cli``); None when not said."""


@dataclass(frozen=True)
class FireResult:
    """What ``fire`` (or ``start``) did; ``replayed`` is True when an idempotency key matched."""

    instance: Instance
    event: AuditEvent
    replayed: bool = False

    @property
    def state(self) -> str:
        return self.instance.state


@dataclass(frozen=True)
class DeployResult:
    workflow: str
    version: int
    content_hash: str
    created: bool


@dataclass(frozen=True)
class DeployedDefinition:
    """One deployed version of a definition: its content hash, whether it is retired (no new
    starts) or disabled (no fires), when and by whom it was deployed (as the administrators'
    log records it), the file it was read from, and how many of its instances are live."""

    workflow: str
    version: int
    content_hash: str
    retired: bool
    disabled: bool
    deployed_at: datetime
    deployed_by: str
    source_file: str
    live_instances: int = 0


ClosedBy = Literal["state", "role", "unit", "guard"]
"""Why a trigger cannot be fired now: no transition from the current state, the actor lacks the
role, the actor's unit is not the one the transition is scoped to, or a guard refuses."""


@dataclass(frozen=True)
class TriggerOption:
    """One trigger of an instance's definition, as an actor sees it now (a button to draw).

    ``allowed``: :meth:`Engine.fire <workflow.Engine.fire>` with the same actor and payload
    would take the transition to ``dest``, unless the instance moves first (pass the
    :class:`TriggerMenu`'s ``version`` as ``expected_version`` to be sure). Otherwise
    ``closed_by`` says why and ``reasons`` says it in words; ``missing_fields`` are the required
    fields a guard found empty (what a form must ask for). ``requires_reason``: the transition
    that would be taken needs a reason (text) with the call.
    """

    trigger: str
    allowed: bool
    closed_by: ClosedBy | None = None
    reasons: tuple[str, ...] = ()
    missing_fields: tuple[str, ...] = ()
    dest: str | None = None
    requires_reason: bool = False


@dataclass(frozen=True)
class TriggerMenu:
    """Every trigger of an instance's definition, in declaration order, for one actor, read in
    one transaction (:meth:`Engine.available_triggers <workflow.Engine.available_triggers>`)."""

    instance: Instance
    actor: str
    options: tuple[TriggerOption, ...]

    @property
    def allowed(self) -> tuple[str, ...]:
        """The triggers the actor may fire now."""
        return tuple(o.trigger for o in self.options if o.allowed)

    def option(self, trigger: str) -> TriggerOption:
        """The option for ``trigger`` (KeyError if the definition has no such trigger)."""
        for option in self.options:
            if option.trigger == trigger:
                return option
        raise KeyError(trigger)
