"""``workflow actors``: the registry the CLI uses to know who an actor is."""

from __future__ import annotations

import click

from ..context import State, json_option, pass_state


@click.group("actors")
def group() -> None:
    """Register actors with their roles and unit."""


@group.command("add")
@click.argument("actor_id")
@click.option("--role", "roles", multiple=True, required=True, help="A role (repeatable).")
@click.option("--unit", help="The unit the actor belongs to.")
@click.option("--name", help="A display name (shown by `actors list`).")
@pass_state
def add(
    state: State, actor_id: str, roles: tuple[str, ...], unit: str | None, name: str | None
) -> None:
    """Add or update an actor. Ids starting with system: and the role system are the engine's
    own (the timer) and are refused.

    \b
    Example:
      workflow actors add alice --role drafter --unit chi_bo_1
    """
    from workflow.i18n import _

    actor = state.engine(create=True).add_actor(actor_id, roles, unit=unit, name=name)
    roles_text = ", ".join(sorted(actor.roles))
    if actor.unit:
        click.echo(
            _(
                "actor {id}: roles {roles}, unit {unit}",
                id=actor.id,
                roles=roles_text,
                unit=actor.unit,
            )
        )
    else:
        click.echo(_("actor {id}: roles {roles}", id=actor.id, roles=roles_text))


@group.command("list")
@json_option
@pass_state
def list_(state: State, as_json: bool) -> None:
    """List registered actors.

    \b
    Example:
      workflow actors list --json
    """
    from ..output import emit_json, table

    actors = state.engine().actors()
    if as_json:
        emit_json(
            [{"id": a.id, "roles": sorted(a.roles), "unit": a.unit, "name": a.name} for a in actors]
        )
        return
    table(
        ["id", "roles", "unit", "name"],
        [[a.id, ", ".join(sorted(a.roles)), a.unit, a.name] for a in actors],
    )
