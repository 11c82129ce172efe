"""What the administrators' log says, as the replay reads it: each deploy's content hash, each
actor's registrations, each migration's extent.

Separate from the replay because the log is read first, whole, while its own chain is verified,
and both the replay and the check of the definitions and actors tables then ask it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workflow.hashchain.encoding import format_instant

END_OF_TIME = "\U0010ffff"
"""Above every instant's text."""


@dataclass(frozen=True)
class Registration:
    """An actor as one ``actor`` event of the administrators' log registered it."""

    instant: str
    roles: frozenset[str]
    unit: str | None


@dataclass
class AdminLedger:
    """What the administrators' log says, gathered while it is verified: the content hash each
    deploy recorded, each actor's registrations, each migration's extent."""

    deploys: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    registrations: dict[str, list[Registration]] = field(default_factory=lambda: defaultdict(list))
    first_registration: str | None = None
    migrations: dict[tuple[str, str], list[tuple[int, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    last_actor_event: dict[str, int] = field(default_factory=dict)

    def read(self, rows: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
        """Pass ``rows`` through, noting what each says."""
        for row in rows:
            self.note(row)
            yield row

    def note(self, row: Mapping[str, Any]) -> None:
        action, subject = row["action"], str(row["subject"])
        try:
            detail = json.loads(row["detail"])
        except (TypeError, ValueError):
            return  # an edited detail fails the chain's own hash
        if not isinstance(detail, dict):
            return
        instant = format_instant(row["occurred_at"])
        if action == "deploy":
            workflow, _, version = subject.rpartition("@")
            if version.isdigit():
                self.deploys[(workflow, int(version))] = (
                    str(detail.get("content_hash")),
                    int(row["seq"]),
                )
        elif action == "actor":
            roles = frozenset(str(r) for r in detail.get("roles") or ())
            self.registrations[subject].append(Registration(instant, roles, detail.get("unit")))
            self.last_actor_event[subject] = int(row["seq"])
            if self.first_registration is None:
                self.first_registration = instant
        elif action == "migrate":
            try:
                first, last = int(detail["first_instance"]), int(detail["last_instance"])
            except (KeyError, TypeError, ValueError):
                return
            self.migrations[(subject, instant)].append((first, last))

    def span(self, actor: str, at: str) -> tuple[str, str]:
        """The instants [``lo``, ``hi``) around ``at`` between which no registration changes
        what ``actor`` may claim (so the answer of :meth:`actor_problem` at ``at`` holds)."""
        first = self.first_registration
        if first is None:
            return "", END_OF_TIME
        just_after_first = first + "\0"  # the least text above it: at <= first iff at < this
        if at <= first:
            return "", just_after_first
        instants = [r.instant for r in self.registrations.get(actor, ())]
        lo = max((i for i in instants if i <= at), default="")
        hi = min((i for i in instants if i > at), default=END_OF_TIME)
        return max(lo, just_after_first), hi

    def actor_problem(self, actor: str, roles: frozenset[str], unit: str | None, at: str) -> str:
        """Why ``actor`` could not have claimed ``roles`` and ``unit`` at instant ``at`` ('' if
        it could). Until the first registration of any actor (its instant included), actors are
        the application's."""
        if self.first_registration is None or at <= self.first_registration:
            return ""
        known = [r for r in self.registrations.get(actor, ()) if r.instant <= at]
        if not known:
            return f"actor {actor!r} was not registered at {at}"
        latest = known[-1].instant
        # Registrations at the very same instant (a frozen clock) could each be the one in force.
        current = [r for r in known if r.instant == latest] or known[-1:]
        claimed = roles
        if any(claimed <= r.roles and unit == r.unit for r in current):
            return ""
        held = current[-1]
        return (
            f"actor {actor!r} claims roles [{', '.join(sorted(claimed))}] in unit {unit!r}, but "
            f"was registered with [{', '.join(sorted(held.roles))}] in unit {held.unit!r}"
        )

    def migrated(self, workflow: str, old: int, new: int, at: str, instance_id: int) -> bool:
        extents = self.migrations.get((f"{workflow}@{old}->{new}", at), ())
        return any(first <= instance_id <= last for first, last in extents)
