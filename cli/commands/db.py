"""``workflow db``: schema migrations."""

from __future__ import annotations

import click

from cli.context import State, json_option, pass_state


@click.group("db")
def group() -> None:
    """Create and migrate the database schema."""


@group.command("upgrade")
@pass_state
def upgrade(state: State) -> None:
    """Upgrade the database schema to this version's head (never done implicitly on servers).

    \b
    Example:
      workflow --db postgresql+psycopg://app@db/workflow db upgrade
    """
    engine = state.engine(check_schema=False)
    engine.upgrade_schema()
    current, head = engine.schema_revision()
    click.echo(f"database at revision {current} (head {head})")


@group.command("current")
@json_option
@pass_state
def current(state: State, as_json: bool) -> None:
    """Say where the database schema stands.

    \b
    Example:
      workflow db current --json
    """
    from cli.output import emit_json

    current_rev, head = state.engine(check_schema=False).schema_revision()
    if as_json:
        emit_json({"current": current_rev, "head": head, "up_to_date": current_rev == head})
        return
    status = "up to date" if current_rev == head else "behind: run `workflow db upgrade`"
    click.echo(f"database at revision {current_rev or 'none'}, head {head}: {status}")
