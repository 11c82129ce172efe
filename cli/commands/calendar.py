"""``workflow calendar``: Vietnam's working days, and the days the administrators declare."""

from __future__ import annotations

import click

from workflow.i18n import N_

from ..context import State, by_option, json_option, pass_state

WEEKDAYS = (
    N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
    N_("Sunday"),
)  # fmt: skip
"""Translated where they are shown: ``_(WEEKDAYS[n])`` (Thứ Hai ... Chủ Nhật)."""


@click.group("calendar")
def group() -> None:
    """Working days (ngày làm việc): public holidays, Tết, make-up days and extra days off."""


@group.command("deploy")
@click.argument("file", type=click.Path(dir_okay=False))
@by_option("declares the days")
@pass_state
def deploy(state: State, file: str, by: str) -> None:
    """Declare the make-up working days and extra days off of the years FILE names.

    Recorded in the administrators' log; the same days again change nothing. Timers and
    deadlines computed from now on count with them.

    \b
    Example:
      workflow calendar deploy examples/calendar.yaml
    """
    from workflow.admin import deploy_calendar

    result = deploy_calendar(state.engine(create=True), file, by=by)
    click.echo(result.message)


@group.command("show")
@click.option("--year", type=click.IntRange(1, 9999), required=True, help="The year to show.")
@json_option
@pass_state
def show(state: State, year: int, as_json: bool) -> None:
    """The days of a year that are not ordinary: holidays, swapped and declared days.

    \b
    Example:
      workflow calendar show --year 2025
    """
    from workflow.admin import calendar_year
    from workflow.i18n import _, format_day

    from ..output import emit_json, table

    days = calendar_year(state.engine(), year)
    if as_json:
        emit_json(
            [{"date": d.day.isoformat(), "working": d.working, "why": d.why} for d in days]
        )
        return
    table(
        [_("day"), _("weekday"), _("working"), _("why")],
        [
            [format_day(d.day), _(WEEKDAYS[d.day.weekday()]), _("yes") if d.working else _("no"),
             d.why]
            for d in days
        ],
    )  # fmt: skip


@group.command("add", context_settings={"ignore_unknown_options": True})
@click.argument("start")
@click.argument("count", type=click.IntRange(-1000, 1000))
@pass_state
def add(state: State, start: str, count: int) -> None:
    """The COUNT-th working day after START (dd/mm/yyyy or YYYY-MM-DD; START not counted).

    \b
    Example:
      workflow calendar add 24/01/2025 5
    """
    from workflow.admin import add_working_days, parse_day
    from workflow.i18n import format_day

    try:
        day = parse_day(start)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="START") from None
    click.echo(format_day(add_working_days(state.engine(), day, count)))
