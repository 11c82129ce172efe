"""The actors' registry: an actor registered (audited in the administrators' log), read back by id,
and every actor listed."""

from __future__ import annotations

from collections.abc import Iterable

from workflow.engine._transactions import Transactions
from workflow.errors import NotFound, ReservedIdentity
from workflow.limits import MAX_NAME_CHARS, check_optional, check_text
from workflow.records import Actor, RegisteredActor, reserved_part
from workflow.store import chain_writer
from workflow.store import repository as repo


class Actors(Transactions):
    """Registering and reading actors."""

    def add_actor(
        self,
        actor_id: str,
        roles: Iterable[str],
        *,
        unit: str | None = None,
        name: str | None = None,
        by: str = "admin",
    ) -> Actor:
        """Register (or update) an actor for the CLI, which looks roles up by id.

        The engine's own identities (ids ``system:*``, the role ``system``) are refused with
        :class:`ReservedIdentity`: no one registers as the timer.
        """
        actor = Actor(actor_id, roles, unit)
        reserved = reserved_part(actor.id, actor.roles)
        if reserved is not None:
            raise ReservedIdentity(actor.id, reserved)
        check_optional(name, "actor name", MAX_NAME_CHARS)
        check_text(by, "by", MAX_NAME_CHARS)
        now = self.now()
        with self.transaction() as conn:
            repo.upsert_actor(conn, actor.id, sorted(actor.roles), unit, name, now)
            chain_writer.append_admin_event(
                conn, "actor", actor.id, by, {"roles": sorted(actor.roles), "unit": unit}, now
            )
        return actor

    def actor(self, actor_id: str) -> Actor:
        check_text(actor_id, "actor id")
        with self.read_transaction() as conn:
            row = repo.actor_row(conn, actor_id)
        if row is None:
            raise NotFound("actor", actor_id)
        reserved = reserved_part(row.id, row.roles)
        if reserved is not None:  # a row registered before identities were reserved
            raise ReservedIdentity(row.id, reserved)
        return Actor(row.id, row.roles, row.unit)

    def actors(self) -> list[RegisteredActor]:
        """Every registered actor, with its display name."""
        with self.read_transaction() as conn:
            return [
                RegisteredActor(r.id, frozenset(r.roles), r.unit, r.name)
                for r in repo.actor_rows(conn)
            ]
