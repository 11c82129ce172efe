"""Starting and firing inside one open write transaction: the rows a transition writes.

The engine opens the transaction; these functions write the instance, its audit event, its timers
and its outbox row, all on the same connection, so that they commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from workflow._effects import apply_effects, check_fields, step_effects
from workflow._legal.replay import placement
from workflow._machine import CompiledMachine, StepContext, admits
from workflow._schedule import CalendarSource, calendar_on, instance_due_at, timer_rows
from workflow.definition import model as m
from workflow.errors import (
    ConcurrentModification,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TimeRunsBackwards,
    UnknownTrigger,
)
from workflow.hashchain.encoding import GENESIS
from workflow.hashchain.keys import AuditKeys, keys_of
from workflow.hashchain.sealing import audit_record
from workflow.i18n import _
from workflow.records import SYSTEM_AUTO, Actor, FireResult
from workflow.registry import GuardContext, Registry
from workflow.store import Connection
from workflow.store import chain_writer as writer
from workflow.store import repository as repo
from workflow.store.mapping import read_json, to_event, to_instance

MachineLookup = Callable[[Connection, str, int | None], CompiledMachine]
"""(connection, workflow, version or None for the newest startable) → compiled machine."""


@dataclass(frozen=True)
class StartRequest:
    """One instance to start: its data and where it belongs (unit, directive, parent)."""

    data: Mapping[str, Any] = field(default_factory=dict)
    unit: str | None = None
    coordinating_units: tuple[str, ...] = ()
    directive_id: int | None = None
    item_key: str | None = None
    parent_id: int | None = None


class Applied(NamedTuple):
    """What one start or step wrote (named tuples here: one of each is built for every fire)."""

    instance_id: int
    seq: int
    audit_id: int
    from_state: str | None
    to_state: str
    result: FireResult | None = None
    """The instance and event as written, when built from the values in hand (no re-read)."""


def _written(
    instance: Mapping[str, Any], audit: Mapping[str, Any], audit_id: int, data_json: str
) -> FireResult:
    """The result as a re-read would give it: the data as decoded from its stored JSON text."""
    return FireResult(to_instance(instance, read_json(data_json)), to_event(audit, audit_id))


def _startable(
    conn: Connection, machines: MachineLookup, workflow: str, actor: Actor
) -> CompiledMachine:
    compiled = machines(conn, workflow, None)
    definition = compiled.definition
    if definition.start_roles and not actor.roles & set(definition.start_roles):
        raise PermissionDenied(
            actor.id,
            _("start {workflow}", workflow=workflow),
            _("needs one of the roles {roles}", roles=", ".join(definition.start_roles)),
        )
    return compiled


def _instance_values(
    compiled: CompiledMachine,
    workflow: str,
    request: StartRequest,
    now: datetime,
    instance_id: int,
    calendar: CalendarSource,
) -> dict[str, Any]:
    """The new instance row in the initial state, data checked (``last_hash`` still GENESIS)."""
    definition = compiled.definition
    data = dict(request.data)
    check_fields(definition, data, f"data for {workflow}")
    initial = definition.initial_state
    return {
        "id": instance_id,
        "workflow": workflow,
        "definition_version": compiled.version,
        "state": initial.name,
        "data": data,
        "version": 1,
        "active": not initial.final,
        "unit": request.unit,
        "coordinating_units": list(request.coordinating_units),
        "directive_id": request.directive_id,
        "item_key": request.item_key,
        "parent_id": request.parent_id,
        "due_at": instance_due_at(definition, data, (initial, now, calendar)),
        "created_at": now,
        "updated_at": now,
        "last_hash": GENESIS,
    }


def _start_audit(
    compiled: CompiledMachine,
    values: Mapping[str, Any],
    actor: Actor,
    audit_id: int,
    keys: AuditKeys | None,
    channel: str | None = None,
) -> dict[str, Any]:
    """Audit event 1 of a new instance, sealed, with the id reserved for it; its payload says
    where the instance was placed (unit, coordinating units, parent), so the chain vouches for
    the instance row."""
    row = audit_record(
        instance_id=values["id"],
        seq=1,
        kind="start",
        trigger=None,
        from_state=None,
        to_state=values["state"],
        actor=actor.id,
        actor_roles=sorted(actor.roles),
        actor_unit=actor.unit,
        reason=None,
        payload=placement(values["unit"], values["coordinating_units"], values["parent_id"]),
        data=values["data"],
        workflow=values["workflow"],
        definition_version=compiled.version,
        definition_hash=compiled.content_hash,
        occurred_at=values["created_at"],
        prev_hash=GENESIS,
        keys=keys,
        channel=channel,
    )
    row["id"] = audit_id
    return row


def start_many_in(
    conn: Connection,
    machines: MachineLookup,
    workflow: str,
    requests: Iterable[StartRequest],
    actor: Actor,
    now: datetime,
    channel: str | None = None,
) -> list[writer.Start]:
    """Start instances of ``workflow`` in their initial state, each with audit event 1, timers
    and outbox row, through the writer's one batch (a single start is a batch of one)."""
    compiled = _startable(conn, machines, workflow, actor)
    initial = compiled.definition.initial_state
    requests = list(requests)
    if not requests:
        return []
    topic = f"{workflow}.start.{initial.name}"
    calendar = calendar_on(conn)
    starts = []
    for request, (instance_id, audit_id) in zip(
        requests, writer.reserve_ids(conn, len(requests)), strict=True
    ):
        values = _instance_values(compiled, workflow, request, now, instance_id, calendar)
        audit = _start_audit(compiled, values, actor, audit_id, keys_of(conn), channel)
        values["last_hash"] = audit["hash"]
        timers = timer_rows(initial, instance_id, values["data"], now, 1, calendar)
        starts.append(writer.Start(values, audit, topic, timers))
    writer.write_starts(conn, starts)
    return starts


def start_in(
    conn: Connection,
    machines: MachineLookup,
    registry: Registry,
    workflow: str,
    request: StartRequest,
    actor: Actor,
    now: datetime,
    channel: str | None = None,
) -> Applied:
    """Create one instance in its initial state, with audit event 1, timers and outbox row."""
    (start,) = start_many_in(conn, machines, workflow, [request], actor, now, channel)
    values, audit = start.instance, start.audit
    data_json = writer.to_json(values["data"])
    result = _written(values, audit, audit["id"], data_json)
    return Applied(values["id"], 1, audit["id"], None, values["state"], result)


class FireRequest(NamedTuple):
    """One fire to apply: the instance, trigger, actor and what they send."""

    instance_id: int
    trigger: str
    actor: Actor
    payload: Mapping[str, Any]
    reason: str | None
    expected_version: int | None
    timer_id: int | None = None
    channel: str | None = None
    payload_json: str | None = None
    """The payload's canonical JSON, when the caller's check already encoded it."""


AUTO = Actor(SYSTEM_AUTO, roles=(m.SYSTEM_ROLE,))
"""Who takes automatic transitions: the engine itself."""


def _automatic(
    compiled: CompiledMachine, registry: Registry, last: Applied, now: datetime
) -> FireRequest | None:
    """The automatic transition to take after ``last`` (a step on ``compiled``'s version),
    if one is admitted."""
    assert last.result is not None
    instance = last.result.instance
    candidates = compiled.definition.automatic_from.get(instance.state)
    if not candidates:
        return None
    for spec in candidates:
        ctx = GuardContext(
            instance.id, instance.workflow, instance.state, spec.trigger, AUTO.id, AUTO.roles,
            dict(instance.data), {}, now,
        )  # fmt: skip
        step = StepContext(ctx, AUTO, instance.unit, tuple(instance.coordinating_units))
        if admits(spec, step, registry):
            return FireRequest(instance.id, spec.trigger, AUTO, {}, None, None)
    return None


def fire_in(
    conn: Connection,
    machines: MachineLookup,
    registry: Registry,
    request: FireRequest,
    now: datetime,
) -> Applied:
    """Authorize, guard, move, persist and audit one transition on an open transaction, then
    each automatic transition that the state reached admits (as ``system:auto``, one audit event
    each, in the same transaction; the validator refuses a loop of them, so the recursion ends).
    The result is the requested step's event with the instance as the last step left it."""
    # A caller naming the version it saw loses to anyone already changing the row: fail at once
    # rather than queue behind them for a version that will no longer be current.
    locked = writer.read_for_update(
        conn, request.instance_id, nowait=request.expected_version is not None
    )
    if locked is None:
        raise NotFound("instance", request.instance_id)
    row = locked.row
    instance_id, workflow, state = row["id"], row["workflow"], row["state"]
    if request.expected_version is not None and row["version"] != request.expected_version:
        raise ConcurrentModification(instance_id, request.expected_version, row["version"])
    if now < row["updated_at"]:
        # updated_at is the time of the chain's last event: audit time never runs backwards.
        raise TimeRunsBackwards(instance_id, now, row["updated_at"])
    compiled = machines(conn, workflow, row["definition_version"])
    definition = compiled.definition
    if request.trigger not in definition.triggers:
        raise UnknownTrigger(instance_id, workflow, request.trigger, definition.triggers)
    if request.timer_id is not None:
        _fire_timer_row(conn, request.timer_id, instance_id, state, now)
    coordinating = tuple(row["coordinating_units"] or ())
    ctx = GuardContext(
        instance_id=instance_id,
        workflow=workflow,
        state=state,
        trigger=request.trigger,
        actor_id=request.actor.id,
        actor_roles=request.actor.roles,
        data=dict(row["data"]),
        payload=dict(request.payload),
        now=now,
    )
    spec = compiled.step(
        state, request.trigger, StepContext(ctx, request.actor, row["unit"], coordinating)
    )
    if spec.require_reason and not (request.reason and request.reason.strip()):
        raise InvalidInput(
            _("{trigger!r} requires a reason (none was given)", trigger=request.trigger)
        )
    data, spawns = apply_effects(definition, step_effects(definition, spec, state), ctx, registry)
    seq = int(row["version"]) + 1
    audit = audit_record(
        instance_id=instance_id,
        seq=seq,
        kind="transition",
        trigger=request.trigger,
        from_state=state,
        to_state=spec.dest,
        actor=request.actor.id,
        actor_roles=request.actor.roles,
        actor_unit=request.actor.unit,
        reason=request.reason,
        payload=request.payload if request.payload_json is None else request.payload_json,
        data=data,
        workflow=workflow,
        definition_version=row["definition_version"],
        definition_hash=compiled.content_hash,
        occurred_at=now,
        prev_hash=row["last_hash"],
        keys=keys_of(conn),
        channel=request.channel,
    )
    calendar = calendar_on(conn)
    dest = definition.state(spec.dest)
    # Leaving a state cancels its timers; a self-transition stays in the state and keeps them.
    leaving = dest.name != state
    step = writer.Step(
        instance_id=instance_id,
        seen_version=row["version"],
        definition_version=row["definition_version"],
        state=dest.name,
        data_json=audit["data"],  # the canonical JSON of the data: what to_json writes too
        active=not dest.final,
        due_at=instance_due_at(
            definition,
            data,
            (dest, now, calendar) if leaving else None,
            None if leaving or not any(t.deadline for t in dest.timers) else row["due_at"],
        ),
        now=now,
        audit=audit,
        topic=f"{workflow}.{request.trigger}.{dest.name}",
        enters_state=leaving,
        timers=timer_rows(dest, instance_id, data, now, seq, calendar) if leaving else (),
        timers_live=locked.timers_live,
    )
    audit_id = writer.write_step(conn, step)
    if audit_id is None:
        current = repo.instance_row(conn, instance_id)
        raise ConcurrentModification(
            instance_id, row["version"], None if current is None else current.version
        )
    for spawn in spawns:
        child = StartRequest(
            data={f: data[f] for f in spawn.copy if f in data},
            unit=row["unit"],
            coordinating_units=coordinating,
            directive_id=row["directive_id"],
            item_key=row["item_key"],
            parent_id=instance_id,
        )
        start_in(
            conn,
            machines,
            registry,
            spawn.workflow,
            child,
            Actor(request.actor.id, request.actor.roles | {m.SYSTEM_ROLE}, request.actor.unit),
            now,
            request.channel,
        )
    written = {
        **row,
        "state": dest.name,
        "data": data,
        "version": seq,
        "active": step.active,
        "due_at": step.due_at,
        "updated_at": now,
    }
    result = _written(written, audit, audit_id, step.data_json)
    applied = Applied(instance_id, seq, audit_id, state, dest.name, result)
    follow = _automatic(compiled, registry, applied, now)
    if follow is None:
        return applied
    last = fire_in(conn, machines, registry, follow, now)
    assert last.result is not None
    reached = FireResult(last.result.instance, result.event)
    return Applied(instance_id, seq, audit_id, state, last.to_state, reached)


def _fire_timer_row(
    conn: Connection, timer_id: int, instance_id: int, state: str, now: datetime
) -> None:
    """Mark the timer being fired as fired, or refuse: the conditional update is the fence that
    makes a retried claim apply nothing once another worker (or a transition that cancelled the
    timer) got there first."""
    timer = repo.timer_row(conn, timer_id)
    if timer is None or timer.instance_id != instance_id:
        raise NotFound("timer", timer_id)
    if timer.state != state or not writer.mark_timer_fired(conn, timer_id, now):
        raise ConcurrentModification(instance_id, None, None)
