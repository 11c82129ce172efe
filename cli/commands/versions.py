"""Versions: ``definitions retire|unretire|disable|enable|diff`` and ``workflow migrate``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from workflow.i18n import N_, _

from ..context import ROW_ID, State, by_option, json_option, pass_state

if TYPE_CHECKING:
    from workflow.admin import AdminChange


def _report(change: AdminChange, as_json: bool, done: str, already: str) -> None:
    from dataclasses import asdict

    from ..output import emit_json

    if as_json:
        emit_json(asdict(change))
        return
    from workflow.i18n import _

    click.echo(_(done if change.changed else already, subject=change.subject))


@click.command("retire")
@click.argument("ref", metavar="NAME@VERSION")
@by_option()
@json_option
@pass_state
def retire(state: State, ref: str, by: str, as_json: bool) -> None:
    """Retire a version: no new instances start on it; running ones carry on.

    \b
    Example:
      workflow definitions retire plan_drafting@1
    """
    from workflow.admin import parse_version_ref, retire_version

    name, version = parse_version_ref(ref)
    change = retire_version(state.engine(), name, version, actor=by)
    _report(change, as_json, N_("retired {subject}"), N_("already retired: {subject}"))
    if not as_json and change.live_instances:
        click.echo(
            _(
                "{count} running instance(s) stay on it; see `workflow migrate {name} --from "
                "{version} --to N --dry-run`",
                count=change.live_instances,
                name=name,
                version=version,
            )
        )


@click.command("unretire")
@click.argument("ref", metavar="NAME@VERSION")
@by_option()
@json_option
@pass_state
def unretire(state: State, ref: str, by: str, as_json: bool) -> None:
    """Put a retired version back in service (starts use the newest version not retired).

    \b
    Example:
      workflow definitions unretire plan_drafting@1
    """
    from workflow.admin import parse_version_ref, unretire_version

    name, version = parse_version_ref(ref)
    change = unretire_version(state.engine(), name, version, actor=by)
    _report(change, as_json, N_("unretired {subject}"), N_("not retired: {subject}"))


def _switch(disabled: bool) -> click.Command:
    verb = "disable" if disabled else "enable"

    @click.command(verb)
    @click.argument("name")
    @by_option()
    @json_option
    @pass_state
    def command(state: State, name: str, by: str, as_json: bool) -> None:
        from workflow.admin import set_workflow_disabled

        change = set_workflow_disabled(state.engine(), name, disabled, actor=by)
        if disabled:
            _report(change, as_json, N_("disabled {subject}"), N_("already disabled: {subject}"))
        else:
            _report(change, as_json, N_("enabled {subject}"), N_("already enabled: {subject}"))

    command.help = (
        N_(
            "Disable a workflow: no new instances of any version; running ones carry on.\n\n"
            "\b\nExample:\n  workflow definitions disable plan_drafting"
        )
        if disabled
        else N_(
            "Enable a disabled workflow again.\n\n"
            "\b\nExample:\n  workflow definitions enable plan_drafting"
        )
    )
    return command


disable = _switch(True)
enable = _switch(False)


@click.command("diff")
@click.argument("old", metavar="NAME@V1")
@click.argument("new", metavar="NAME@V2")
@json_option
@pass_state
def diff(state: State, old: str, new: str, as_json: bool) -> None:
    """Show what changed between two deployed versions of a workflow.

    \b
    Example:
      workflow definitions diff plan_drafting@1 plan_drafting@2
    """
    from workflow import InvalidInput
    from workflow.admin import diff_versions, parse_version_ref

    from ..output import emit_json

    name, old_version = parse_version_ref(old)
    other, new_version = parse_version_ref(new)
    if other != name:
        raise InvalidInput(f"compare two versions of one workflow, not {name} and {other}")
    result = diff_versions(state.engine(), name, old_version, new_version)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(f"{name}@{old_version} -> {name}@{new_version}")
    if result.empty:
        click.echo(_("no differences"))
    for entry in result.entries:
        click.echo(str(entry))


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    from workflow import InvalidInput

    mapping: dict[str, str] = {}
    for pair in pairs:
        source, eq, target = pair.partition("=")
        if not eq or not source or not target:
            raise InvalidInput(f"--map {pair!r}: expected OLD_STATE=NEW_STATE")
        if source in mapping:
            raise InvalidInput(f"--map gives state {source!r} twice")
        mapping[source] = target
    return mapping


def _where(clauses: tuple[str, ...]) -> tuple[list[str], list[str]]:
    from workflow import InvalidInput

    states: list[str] = []
    units: list[str] = []
    for clause in clauses:
        key, eq, value = clause.partition("=")
        if not eq or not value or key not in ("state", "unit"):
            raise InvalidInput(f"--where {clause!r}: expected state=STATE or unit=UNIT")
        (states if key == "state" else units).append(value)
    return states, units


@click.command("migrate")
@click.argument("name")
@click.option("--from", "from_version", type=ROW_ID, required=True, help="The version to leave.")
@click.option("--to", "to_version", type=ROW_ID, required=True, help="The version to move to.")
@click.option(
    "--map", "maps", multiple=True, metavar="OLD=NEW", help="Move state OLD to NEW (repeatable)."
)
@click.option(
    "--where",
    "wheres",
    multiple=True,
    metavar="state=S|unit=U",
    help="Only instances in state S or of unit U (repeatable; same key: any of them).",
)
@click.option(
    "--dry-run", is_flag=True, help="Show what would happen per instance; change nothing."
)
@click.option("--reason", help="Why (recorded on every migrated event).")
@by_option()
@json_option
@pass_state
def migrate(
    state: State,
    name: str,
    from_version: int,
    to_version: int,
    maps: tuple[str, ...],
    wheres: tuple[str, ...],
    dry_run: bool,
    reason: str | None,
    by: str,
    as_json: bool,
) -> None:
    """Move running instances of NAME from one version to another, one audited step each.

    All selected instances are checked first; if any cannot move (its state is gone and not
    mapped, or a pending timer would be stranded), nothing changes.

    \b
    Example:
      workflow migrate plan_drafting --from 1 --to 2 --map review=checking --dry-run
    """
    from workflow import MigrationRefused
    from workflow.admin import MigrationRequest, migrate_instances

    from ..output import emit_json

    states, units = _where(wheres)
    request = MigrationRequest(name, from_version, to_version, _mapping(maps), states, units)
    plan = migrate_instances(state.engine(), request, dry_run=dry_run, actor=by, reason=reason)
    if as_json:
        emit_json(plan.to_dict())
    else:
        for move in plan.moves:
            click.echo(str(move))
        message = (
            N_("would migrate {count} instance(s) of {name} from @{source} to @{dest}")
            if dry_run
            else N_("migrated {count} instance(s) of {name} from @{source} to @{dest}")
        )
        click.echo(
            _(
                message,
                count=len(plan.moves) - len(plan.problems),
                name=name,
                source=from_version,
                dest=to_version,
            )
        )
    if plan.problems:
        raise MigrationRefused(
            f"{len(plan.problems)} instance(s) cannot move; the migration would be refused"
        )


DEFINITION_COMMANDS = (retire, unretire, disable, enable, diff)
"""Added to the ``definitions`` group by ``cli/main.py``."""
