"""Instances: start, fire, show, list, history."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from workflow.i18n import N_

if TYPE_CHECKING:
    from workflow import Instance

    from ..labels import Labeller

from ..context import (
    ROW_ID,
    State,
    actor_option,
    codes_option,
    json_option,
    limit_option,
    pass_state,
)
from ..options import INSTANT, instant, prefer_zone, timed, tz_option


def _instance_dict(instance: Instance) -> dict[str, Any]:
    value = asdict(instance)
    value["data"] = dict(instance.data)
    return value


@click.command("start")
@click.argument("workflow")
@actor_option
@click.option("--data", metavar="JSON|@FILE", help="Initial data, a JSON object.")
@click.option("--unit", help="The unit that owns (leads) the instance.")
@click.option(
    "--coordinating",
    "coordinating",
    multiple=True,
    metavar="UNIT",
    help="A coordinating unit (repeat for several): what `units: coordinating` admits.",
)
@click.option("--idempotency-key", help="Repeat-safe key: a retry returns the first result.")
@json_option
@pass_state
def start(
    state: State,
    workflow: str,
    actor_id: str,
    data: str | None,
    unit: str | None,
    coordinating: tuple[str, ...],
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Start an instance of WORKFLOW in its initial state.

    \b
    Example:
      workflow start plan_drafting --actor alice --unit chi_bo_1 --data '{"title": "Kế hoạch"}'
      workflow start inspection --actor ubkt --unit ubkt --coordinating ban_tuyen_giao
    """
    from ..output import emit_json, load_json_option

    engine = state.engine(create=True)
    result = engine.start(
        workflow,
        state.actor(actor_id),
        data=load_json_option(data, "--data"),
        unit=unit,
        coordinating_units=coordinating,
        idempotency_key=idempotency_key,
        channel="cli",
    )
    if as_json:
        emit_json(_instance_dict(result.instance))
    else:
        from workflow.i18n import _

        click.echo(
            _(
                "started instance {id} ({workflow}) in {state}",
                id=result.instance.id,
                workflow=workflow,
                state=result.instance.state,
            )
        )


@click.command("fire")
@click.argument("instance_id", type=int)
@click.argument("trigger")
@actor_option
@click.option("--payload", metavar="JSON|@FILE", help="The call's payload, a JSON object.")
@click.option("--reason", help="Why (required by some transitions).")
@click.option(
    "--expected-version", type=ROW_ID, help="Refuse unless the instance is at this version."
)
@click.option("--idempotency-key", help="Repeat-safe key: a retry returns the first result.")
@json_option
@pass_state
def fire(
    state: State,
    instance_id: int,
    trigger: str,
    actor_id: str,
    payload: str | None,
    reason: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Fire TRIGGER on instance INSTANCE_ID as a registered actor.

    \b
    Example:
      workflow fire 1 submit --actor alice --payload @plan.json
    """
    from ..output import emit_json, load_json_option

    engine = state.engine()
    result = engine.fire(
        instance_id,
        trigger,
        state.actor(actor_id),
        payload=load_json_option(payload, "--payload"),
        reason=reason,
        expected_version=expected_version,
        idempotency_key=idempotency_key,
        channel="cli",
    )
    if as_json:
        emit_json(
            {
                "instance": _instance_dict(result.instance),
                "replayed": result.replayed,
                "event": {
                    "seq": result.event.seq,
                    "from": result.event.from_state,
                    "to": result.event.to_state,
                    "hash": result.event.hash,
                },
            }
        )
        return
    from workflow.i18n import _

    note = _(" (replayed: already applied with this idempotency key)") if result.replayed else ""
    click.echo(
        _(
            "instance {id}: {source} -> {dest} (version {version})",
            id=instance_id,
            source=result.event.from_state,
            dest=result.event.to_state,
            version=result.instance.version,
        )
        + note
    )


@click.command("show")
@click.argument("instance_id", type=int)
@json_option
@pass_state
def show(state: State, instance_id: int, as_json: bool) -> None:
    """Show one instance: state, version and data.

    \b
    Example:
      workflow show 42 --json
    """
    from ..output import emit_json

    instance = state.engine().get(instance_id)
    if as_json:
        emit_json(_instance_dict(instance))
        return
    from workflow.i18n import _

    click.echo(
        _(
            "instance {id}: {ref}",
            id=instance.id,
            ref=f"{instance.workflow}@{instance.definition_version}",
        )
    )
    final = "" if instance.active else _(" (final)")
    click.echo(_("  state:   {state}", state=instance.state) + final)
    click.echo(_("  version: {version}", version=instance.version))
    click.echo(_("  unit:    {unit}", unit=instance.unit or ""))
    for key, value in sorted(instance.data.items()):
        click.echo(f"  {key}: {value}")


@click.command("list")
@click.option("--workflow", help="Only instances of this workflow.")
@click.option("--state", "state_name", help="Only instances in this state.")
@click.option("--unit", help="Only instances of this unit.")
@click.option("--overdue", is_flag=True, help="Only live instances past their deadline.")
@click.option(
    "--due-within",
    metavar="SPAN",
    help="Only live instances due in the next SPAN (3d, 12h, P1W), soonest first.",
)
@limit_option(N_("At most N instances."))
@tz_option
@codes_option
@json_option
@pass_state
def list_(
    state: State,
    workflow: str | None,
    state_name: str | None,
    unit: str | None,
    overdue: bool,
    due_within: str | None,
    limit: int,
    codes: bool,
    as_json: bool,
) -> None:
    """List instances, newest first (--overdue, --due-within: soonest deadline first).

    A list cut at --limit says so on stderr (showing N of M).

    \b
    Examples:
      workflow list --workflow plan_drafting --state submitted --json
      workflow list --overdue
      workflow list --due-within 3d
    """
    from ..output import cut_short, emit_json, table

    filters: dict[str, Any] = {"workflow": workflow, "state": state_name, "unit": unit}
    if overdue or due_within is not None:
        from .timers import deadline_rows

        rows = deadline_rows(state.engine(), overdue, due_within, filters, limit + 1)
        total = None if len(rows) > limit else len(rows)
        rows = rows[:limit]
    else:
        rows = state.engine().instances(**filters, limit=limit)
        total = state.engine().count_instances(**filters) if len(rows) == limit else len(rows)
    if as_json:
        emit_json([_instance_dict(i) for i in rows])
        cut_short(len(rows), total)
        return
    from workflow.i18n import _

    from ..labels import Labeller

    zones = {state.directive_zone(i.directive_id) for i in rows}
    if len(zones) == 1:  # every row of one directive (or none): its zone
        prefer_zone(zones.pop())
    labels = Labeller(state.engine(), codes=codes)
    table(
        [
            _("id"),
            _("workflow"),
            _("state"),
            _("version"),
            _("unit"),
            timed(_("updated")),
            timed(_("due")),
        ],
        [
            [
                i.id,
                f"{i.workflow}@{i.definition_version}",
                labels.state(i.workflow, i.definition_version, i.state),
                i.version,
                i.unit,
                i.updated_at,
                i.due_at,
            ]
            for i in rows
        ],
    )
    cut_short(len(rows), total)


@click.command("history")
@click.argument("instance_id", type=int)
@click.option(
    "--at",
    type=INSTANT,
    help="Replay the log: the state and data as they were at TIME.",
)
@tz_option
@codes_option
@json_option
@pass_state
def history(state: State, instance_id: int, at: Any, codes: bool, as_json: bool) -> None:
    """The audit timeline of an instance (or its state at a past time).

    Shows when, who, role, trigger, from -> to and reason.

    With --at, the state and data at that instant, replayed from the audit log.

    \b
    Examples:
      workflow history 42
      workflow history 42 --at 2024-05-01T17:00:00+07:00 --json
    """
    from workflow.i18n import _

    from ..labels import Labeller
    from ..output import emit_json, table

    prefer_zone(state.directive_zone(state.engine().get(instance_id).directive_id))
    if at is not None:
        _history_at(state, instance_id, instant(at), as_json, Labeller(state.engine(), codes=codes))
        return
    events = state.engine().history(instance_id)
    if as_json:
        emit_json([asdict(e) for e in events])
        return
    labels = Labeller(state.engine(), codes=codes)

    def move(e: Any) -> str:
        to = labels.state(e.workflow, e.definition_version, e.to_state)
        if not e.from_state:
            return f"-> {to}"
        return f"{labels.state(e.workflow, e.definition_version, e.from_state)} -> {to}"

    table(
        [
            _("seq"),
            timed(_("when")),
            _("actor"),
            _("roles"),
            _("trigger"),
            _("from -> to"),
            _("reason"),
        ],
        [
            [
                e.seq,
                e.occurred_at,
                e.actor,
                ",".join(e.actor_roles),
                labels.action(e),
                move(e),
                e.reason or "",
            ]
            for e in events
        ],
    )


def _history_at(
    state: State, instance_id: int, at: Any, as_json: bool, labels: Labeller
) -> None:
    from workflow.auditing import state_at
    from workflow.i18n import _, format_moment

    from ..options import zone
    from ..output import emit_json

    snap = state_at(state.engine(), instance_id, at)
    event = snap.last_event
    if as_json:
        emit_json(
            {
                "instance_id": snap.instance_id,
                "at": snap.at,
                "state": snap.state,
                "data": dict(snap.data),
                "version": snap.version,
                "since": snap.active_since,
                "last_event": {
                    "seq": event.seq,
                    "trigger": event.trigger,
                    "actor": event.actor,
                    "occurred_at": event.occurred_at,
                    "hash": event.hash,
                },
            }
        )
        return
    tz = zone()
    workflow, version = event.workflow, event.definition_version
    click.echo(
        _("instance {id} at {moment}:", id=snap.instance_id, moment=format_moment(snap.at, tz))
    )
    click.echo(
        _(
            "  state:   {state} (since {moment})",
            state=labels.state(workflow, version, snap.state),
            moment=format_moment(snap.active_since, tz),
        )
    )
    click.echo(
        _(
            "  version: {version} (event by {actor}: {trigger})",
            version=snap.version,
            actor=event.actor,
            trigger=labels.action(event),
        )
    )
    for key, value in sorted(snap.data.items()):
        click.echo(f"  {key}: {value}")


@click.command("triggers")
@click.argument("instance_id", type=int)
@actor_option
@click.option(
    "--payload",
    metavar="JSON|@FILE",
    help="A draft payload the guards should see (a JSON object).",
)
@json_option
@pass_state
def triggers(
    state: State, instance_id: int, actor_id: str, payload: str | None, as_json: bool
) -> None:
    """Which triggers ACTOR may fire on INSTANCE_ID now, and why each other is closed.

    Every trigger of the instance's definition: allowed (with where it leads), or closed by
    its state, the actor's role or unit, or a guard (with the missing fields).

    \b
    Example:
      workflow triggers 1 --actor alice --json
    """
    from workflow.i18n import _

    from ..output import emit_json, load_json_option, table

    menu = state.engine().available_triggers(
        instance_id, state.actor(actor_id), payload=load_json_option(payload, "--payload")
    )
    if as_json:
        emit_json(
            {
                "instance": menu.instance.id,
                "state": menu.instance.state,
                "version": menu.instance.version,
                "actor": menu.actor,
                "triggers": [asdict(option) for option in menu.options],
            }
        )
        return
    click.echo(
        _(
            "instance {id} ({workflow}) in {state}, version {version}, as {actor}:",
            id=menu.instance.id,
            workflow=menu.instance.workflow,
            state=menu.instance.state,
            version=menu.instance.version,
            actor=menu.actor,
        )
    )
    closed_by = {"state": _("state"), "role": _("role"), "unit": _("unit"), "guard": _("guard")}
    table(
        [_("trigger"), _("allowed"), _("to / closed by"), _("why")],
        [
            [
                o.trigger,
                _("yes") if o.allowed else _("no"),
                o.dest if o.allowed else closed_by.get(str(o.closed_by), o.closed_by),
                _("reason required") if o.requires_reason else "; ".join(o.reasons),
            ]
            for o in menu.options
        ],
    )


COMMANDS = (start, fire, show, list_, history, triggers)
