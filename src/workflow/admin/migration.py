"""Moving running instances from one deployed version of a workflow to another.

One migration is one transaction: every selected instance is checked first, and if any of them
cannot move, nothing changes (:class:`~workflow.MigrationRefused` names each one). Otherwise each
instance gets one audit event of kind ``migrated`` (its chain stays whole: version + 1, the
next ``seq``, ``from_state`` = its state), is pinned to the new version, and the run is recorded
in the administrators' chain.

Timers follow one rule. An instance whose state is *mapped* (``--map old=new``, even onto the
same name) re-enters the target state: its pending timers are cancelled and the target state's
timers of the new version are created, relative ones counting from the migration. An instance
whose state keeps its name and is not mapped keeps its pending timers and their due times; the
migration refuses if the new version could not fire one of them (no transition for the timer's
trigger from that state open to the ``system`` role), since such a timer would be stranded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from workflow._machine import CompiledMachine
from workflow._schedule import CalendarSource, calendar_on, instance_due_at, timer_rows
from workflow.definition import model as m
from workflow.definition.fieldtypes import type_error
from workflow.engine import Engine
from workflow.errors import ConcurrentModification, InvalidInput, MigrationRefused
from workflow.hashchain.keys import keys_of
from workflow.hashchain.sealing import audit_record
from workflow.logs import get_logger
from workflow.store import Connection, chain_writer, versioning
from workflow.store import repository as repo

log = get_logger("workflow.migration")


@dataclass(frozen=True)
class InstanceMove:
    """What a migration does (or would do) to one instance; ``problem`` says why it cannot."""

    instance_id: int
    unit: str | None
    from_state: str
    to_state: str | None
    reenters: bool = False
    timers_cancelled: tuple[str, ...] = ()
    timers_created: tuple[str, ...] = ()
    timers_kept: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    problem: str | None = None

    def __str__(self) -> str:
        head = f"instance {self.instance_id}: {self.from_state} -> {self.to_state or '?'}"
        if self.problem:
            return f"{head}: refused: {self.problem}"
        parts = [
            f"{label} timers {', '.join(names)}"
            for label, names in (
                ("cancels", self.timers_cancelled),
                ("creates", self.timers_created),
                ("keeps", self.timers_kept),
            )
            if names
        ]
        return "; ".join([head, *parts, *self.notes])


@dataclass(frozen=True)
class MigrationPlan:
    """The moves of one migration; ``applied`` is False for a dry run."""

    workflow: str
    from_version: int
    to_version: int
    mapping: Mapping[str, str]
    moves: tuple[InstanceMove, ...]
    applied: bool = False

    @property
    def problems(self) -> list[InstanceMove]:
        return [move for move in self.moves if move.problem]

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "mapping": dict(self.mapping),
            "applied": self.applied,
            "instances": [
                {
                    "instance_id": mv.instance_id,
                    "unit": mv.unit,
                    "from_state": mv.from_state,
                    "to_state": mv.to_state,
                    "reenters": mv.reenters,
                    "timers_cancelled": list(mv.timers_cancelled),
                    "timers_created": list(mv.timers_created),
                    "timers_kept": list(mv.timers_kept),
                    "notes": list(mv.notes),
                    "problem": mv.problem,
                }
                for mv in self.moves
            ],
        }


@dataclass(frozen=True)
class MigrationRequest:
    """Which instances move where: ``mapping`` old state → new state; filters on state and unit."""

    workflow: str
    from_version: int
    to_version: int
    mapping: Mapping[str, str] = field(default_factory=dict)
    states: Collection[str] = ()
    units: Collection[str] = ()


def migrate_instances(
    engine: Engine,
    request: MigrationRequest,
    *,
    dry_run: bool = False,
    actor: str = "admin",
    reason: str | None = None,
) -> MigrationPlan:
    """Move the running instances ``request`` selects to its new version, or refuse.

    With ``dry_run`` nothing is written and the plan is returned even when some instance cannot
    move (its ``problem`` says why). Otherwise raises :class:`~workflow.MigrationRefused`, having
    changed nothing, when any selected instance cannot move.
    """
    if request.from_version == request.to_version:
        raise InvalidInput(
            f"from_version and to_version are both {request.from_version}: nothing to migrate"
        )
    now = engine.now()
    if dry_run:
        with engine.read_transaction() as conn:
            plan, _ = _plan(engine, conn, request, now)
        return plan
    for version in (request.from_version, request.to_version):
        engine.compile_ahead(request.workflow, version)  # not inside the transaction below
    with engine.transaction() as conn:
        plan, rows = _plan(engine, conn, request, now)
        if plan.problems:
            raise MigrationRefused(
                f"migration of {request.workflow}@{request.from_version} to "
                f"@{request.to_version} refused; nothing was changed",
                [str(move) for move in plan.problems],
            )
        new = engine.machine_for(conn, request.workflow, request.to_version)
        old_hash = engine.machine_for(conn, request.workflow, request.from_version).content_hash
        for move in plan.moves:
            _write_move(conn, rows[move.instance_id], move, plan, new, old_hash, actor, reason, now)
        if plan.moves:
            chain_writer.append_admin_event(
                conn,
                "migrate",
                f"{request.workflow}@{request.from_version}->{request.to_version}",
                actor,
                {
                    # each instance's own chain holds its migrated event; here, the extent
                    "count": len(plan.moves),
                    "first_instance": plan.moves[0].instance_id,
                    "last_instance": plan.moves[-1].instance_id,
                    "mapping": dict(request.mapping),
                    "states": sorted(request.states),
                    "units": sorted(request.units),
                },
                now,
            )
    log.info(
        "instances.migrated",
        workflow=request.workflow,
        from_version=request.from_version,
        to_version=request.to_version,
        count=len(plan.moves),
        actor=actor,
    )
    return MigrationPlan(
        plan.workflow, plan.from_version, plan.to_version, plan.mapping, plan.moves, applied=True
    )


def _plan(
    engine: Engine, conn: Connection, request: MigrationRequest, now: datetime
) -> tuple[MigrationPlan, dict[int, Any]]:
    old = engine.machine_for(conn, request.workflow, request.from_version).definition
    new_machine = engine.machine_for(conn, request.workflow, request.to_version)
    new = new_machine.definition
    target_row = repo.definition_row(conn, request.workflow, request.to_version)
    if target_row is not None and target_row.retired:
        raise MigrationRefused(
            f"{request.workflow}@{request.to_version} is retired; migrate to a live version"
        )
    mapping = dict(request.mapping)
    _check_mapping(mapping, old, new, request)
    rows = versioning.live_instances(
        conn,
        request.workflow,
        request.from_version,
        states=request.states,
        units=request.units,
    )
    pending: dict[int, list[Any]] = defaultdict(list)
    for timer in versioning.pending_timers(conn, [int(r.id) for r in rows]):
        pending[int(timer.instance_id)].append(timer)
    calendar = calendar_on(conn)
    moves = tuple(
        _move(row, mapping, new, request, pending[int(row.id)], now, calendar) for row in rows
    )
    plan = MigrationPlan(request.workflow, request.from_version, request.to_version, mapping, moves)
    return plan, {int(r.id): r for r in rows}


def _check_mapping(
    mapping: Mapping[str, str], old: m.Definition, new: m.Definition, request: MigrationRequest
) -> None:
    problems = [
        f"mapping {source}={target}: {source!r} is not a state of "
        f"{request.workflow}@{request.from_version}"
        for source, target in mapping.items()
        if source not in old.state_names
    ] + [
        f"mapping {source}={target}: {target!r} is not a state of "
        f"{request.workflow}@{request.to_version}"
        for source, target in mapping.items()
        if target not in new.state_names
    ]
    if problems:
        raise InvalidInput("; ".join(problems))


def _move(
    row: Any,
    mapping: Mapping[str, str],
    new: m.Definition,
    request: MigrationRequest,
    timers: list[Any],
    now: datetime,
    calendar: CalendarSource,
) -> InstanceMove:
    state, data = str(row.state), dict(row.data)
    base = InstanceMove(int(row.id), row.unit, state, None)
    if now < row.updated_at:
        # updated_at is the time of the chain's last event: audit time never runs backwards.
        problem = (
            f"its last event is dated {row.updated_at.isoformat()}, after this migration's time "
            f"{now.isoformat()}: an event is never dated before the one it follows"
        )
        return replace(base, problem=problem)
    target = mapping.get(state, state if state in new.state_names else None)
    if target is None:
        problem = (
            f"state {state!r} has no counterpart in {request.workflow}@{request.to_version}; "
            f"map {state!r} to one of its states"
        )
        return replace(base, problem=problem)
    notes, problems = _data_fit(data, new)
    base = replace(base, to_state=target, notes=tuple(notes))
    if problems:
        return replace(base, problem="data does not fit the new version: " + "; ".join(problems))
    triggers = tuple(str(t.trigger) for t in timers)
    if state in mapping:
        rows = timer_rows(new.state(target), 0, data, now, 0, calendar)
        created = tuple(r["trigger"] for r in rows)
        return replace(base, reenters=True, timers_cancelled=triggers, timers_created=created)
    stranded = [
        f"{t.trigger} (due {t.due_at:%Y-%m-%d %H:%M}Z)"
        for t in timers
        if not any(m.SYSTEM_ROLE in spec.roles for spec in new.transitions_for(t.trigger, state))
    ]
    if stranded:
        problem = (
            f"pending timers {', '.join(stranded)} would be stranded: "
            f"{request.workflow}@{request.to_version} cannot fire them from {state!r}; "
            f"map {state!r} to a state to re-enter it with the new timers"
        )
        return replace(base, problem=problem)
    return replace(base, timers_kept=triggers)


def _data_fit(data: Mapping[str, Any], new: m.Definition) -> tuple[list[str], list[str]]:
    """(notes, problems): undeclared fields are kept (a note), values of a wrong type refused."""
    undeclared = sorted(name for name in data if name not in new.fields)
    notes = [f"keeps undeclared fields {', '.join(undeclared)}"] if undeclared else []
    problems = []
    for name, value in data.items():
        spec = new.fields.get(name)
        error = None if spec is None else type_error(spec.type, value)
        if error:
            problems.append(f"{name} {error}")
    return notes, problems


def _write_move(
    conn: Connection,
    row: Any,
    move: InstanceMove,
    plan: MigrationPlan,
    new: CompiledMachine,
    old_hash: str,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    assert move.to_state is not None  # a plan with problems is never applied
    definition = new.definition
    data = dict(row.data)
    seq = int(row.version) + 1
    audit = audit_record(
        instance_id=int(row.id),
        seq=seq,
        kind="migrated",
        trigger=None,
        from_state=row.state,
        to_state=move.to_state,
        actor=actor,
        actor_roles=[],
        actor_unit=None,
        reason=reason,
        payload={
            "from_version": plan.from_version,
            "to_version": plan.to_version,
            "from_hash": old_hash,
            "mapping": dict(plan.mapping),
            "timers_cancelled": list(move.timers_cancelled),
            "timers_created": list(move.timers_created),
        },
        data=data,
        workflow=row.workflow,
        definition_version=plan.to_version,
        definition_hash=new.content_hash,
        occurred_at=now,
        prev_hash=row.last_hash,
        keys=keys_of(conn),
    )
    target = definition.state(move.to_state)
    calendar = calendar_on(conn)
    step = chain_writer.Step(
        instance_id=int(row.id),
        seen_version=int(row.version),
        definition_version=plan.to_version,
        state=target.name,
        data_json=chain_writer.to_json(data),
        active=not target.final,
        due_at=instance_due_at(
            definition, data, (target, now, calendar) if move.reenters else None
        ),
        now=now,
        audit=audit,
        topic=f"{row.workflow}.migrated.{target.name}",
        enters_state=move.reenters,
        timers=timer_rows(target, int(row.id), data, now, seq, calendar)
        if move.reenters
        else (),
    )
    if chain_writer.write_step(conn, step) is None:
        raise ConcurrentModification(int(row.id), int(row.version), None)
