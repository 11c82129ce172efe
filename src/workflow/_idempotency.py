"""Replaying a request sent again with its idempotency key, on an open transaction.

A key names one request. Sent again with the same request (same fingerprint), the stored result
is returned, but only to an actor who may still do what the request did: for a fire, the actor
must hold a role of, and the unit scope for, one of the transitions of the audited edge (trigger,
from, to) in the definition version the event was written under; for a start, a start role of the
instance's version. Guards are not run again: they judged the data as it was then, and the
transition they admitted is already in the log. Sent with a different request, the key is
refused with :class:`~workflow.IdempotencyKeyReused`, naming what differs.
"""

from __future__ import annotations

from typing import Any

from workflow._machine import CompiledMachine, unit_allows
from workflow._steps import MachineLookup
from workflow.errors import IdempotencyKeyReused, NotFound, PermissionDenied
from workflow.records import Actor, FireResult
from workflow.store import Connection
from workflow.store import repository as repo
from workflow.store.idempotency import KeyedRequest
from workflow.store.mapping import to_event, to_instance


def replay(
    conn: Connection, machines: MachineLookup, request: KeyedRequest, seen: Any, actor: Actor
) -> FireResult:
    """The stored result of ``request``, whose key was ``seen``; or why it is refused."""
    if seen.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused(request.key, request.differences(seen.request) or ["request"])
    instance = repo.instance_row(conn, seen.instance_id)
    event = repo.audit_row(conn, seen.instance_id, seen.seq)
    if instance is None or event is None:  # pragma: no cover - keys reference kept rows
        raise NotFound("idempotent result", request.key)
    compiled = machines(conn, event.workflow, event.definition_version)
    _authorize(compiled, event, instance, actor)
    return FireResult(to_instance(instance), to_event(event), replayed=True)


def _authorize(compiled: CompiledMachine, event: Any, instance: Any, actor: Actor) -> None:
    definition = compiled.definition
    if event.kind == "start":
        roles = definition.start_roles
        if roles and not actor.roles & set(roles):
            raise PermissionDenied(
                actor.id,
                f"replay the start of instance {instance.id}",
                f"needs one of the roles {', '.join(roles)}",
            )
        return
    coordinating = tuple(instance.coordinating_units or ())
    edge = [
        spec
        for spec in definition.transitions
        if spec.trigger == event.trigger
        and event.from_state in spec.sources
        and spec.dest == event.to_state
    ]
    if any(
        actor.roles & set(spec.roles)
        and unit_allows(spec.unit_scope, actor, instance.unit, coordinating)
        for spec in edge
    ):
        return
    needed = sorted({role for spec in edge for role in spec.roles})
    raise PermissionDenied(
        actor.id,
        f"replay {event.trigger!r} on instance {instance.id}",
        f"needs one of the roles {', '.join(needed) or '(none)'} with the unit scope of "
        f"{event.from_state!r} -> {event.to_state!r}",
    )
