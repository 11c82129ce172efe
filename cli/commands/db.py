"""``workflow db``: schema migrations, copies, and marking a database as a simulation."""

from __future__ import annotations

import click

from workflow.i18n import N_, _

from ..context import State, by_option, json_option, pass_state


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
    engine = state.engine(check_schema=False, create=True)
    engine.upgrade_schema()
    current, head = engine.schema_revision()
    click.echo(_("database at revision {current} (head {head})", current=current, head=head))


@group.command("current")
@json_option
@pass_state
def current(state: State, as_json: bool) -> None:
    """Say where the database schema stands.

    \b
    Example:
      workflow db current --json
    """
    from ..output import emit_json

    engine = state.engine(check_schema=False)
    current_rev, head = engine.schema_revision()
    ahead = not engine.schema_known(current_rev)
    if as_json:
        emit_json(
            {
                "current": current_rev,
                "head": head,
                "up_to_date": current_rev == head,
                "ahead": ahead,
            }
        )
        return
    from workflow.i18n import _

    status = (
        _("up to date")
        if current_rev == head
        else _("newer than this version of workflow")
        if ahead
        else _("behind: run `workflow db upgrade`")
    )
    click.echo(
        _(
            "database at revision {current}, head {head}: {status}",
            current=current_rev or _("none"),
            head=head,
            status=status,
        )
    )


@group.command("mark-simulation")
@by_option(N_("Who marks it (audited)."))
@pass_state
def mark_simulation(state: State, by: str) -> None:
    """Mark this database as a simulation, for good: `timers run --once --now T` is refused on
    any other (production events are dated by the clock only).

    The mark is an event of the administrators' log (append-only, hash-chained): it cannot be
    removed, and every reader of the log sees it. `workflow demo` marks the database it creates.

    \b
    Example:
      workflow --db sqlite:///rehearsal.db db mark-simulation --by lan
    """
    from workflow.admin import mark_simulation as mark

    if mark(state.engine(), by=by):
        click.echo(_("database marked as a simulation (recorded in the administrators' log)"))
    else:
        click.echo(_("database already marked as a simulation"))


@group.command("copy")
@click.option(
    "--to", "target_url", required=True, metavar="URL", help="An empty database to copy into."
)
@json_option
@pass_state
def copy(state: State, target_url: str, as_json: bool) -> None:
    """Copy every row of this database into an empty one, then verify its audit chains there.

    The way to move from SQLite to PostgreSQL: definitions, workflows, instances, the audit
    log, timers, outbox, actors, units, directives and administrators' events, keys and hashes
    included. A target that has rows is refused; an empty one gets the schema first.

    \b
    Example:
      workflow --db sqlite:///workflow.db db copy --to postgresql+psycopg://app@db/workflow
    """
    from workflow import AuditError
    from workflow.admin import copy_database

    from ..output import emit_json

    report = copy_database(state.engine(), target_url)
    if as_json:
        emit_json(
            {
                "target": report.target,
                "rows": dict(report.rows),
                "chains": report.verification.chains,
                "events": report.verification.events,
                "ok": report.ok,
            }
        )
    else:
        for table, count in report.rows.items():
            click.echo(_("{table:<20} {count:>10,} rows", table=table, count=count))
        click.echo(
            _(
                "copied to {target}; audit verify {status}: {chains} chains, {events} events",
                target=report.target,
                status=_("ok") if report.ok else _("TAMPERED"),
                chains=report.verification.chains,
                events=report.verification.events,
            )
        )
    if not report.ok:
        raise AuditError(report.verification.problems)
