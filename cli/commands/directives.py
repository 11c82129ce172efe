"""``workflow directive`` and ``workflow units``: import directives and units, report progress."""

from __future__ import annotations

import sys
from typing import Any

import click

from workflow.i18n import N_

from ..context import State, actor_option, by_option, codes_option, json_option, pass_state
from ..options import INSTANT, instant, prefer_zone, tz_option

FORMATS = ("table", "csv", "json", "markdown", "xlsx", "html")


@click.group("directive")
def group() -> None:
    """Import directives (YAML) and report how their items stand, unit by unit."""


@group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@by_option(N_("Who imports (audited)."))
@json_option
@pass_state
def import_(state: State, file: str, by: str, as_json: bool) -> None:
    """Import a directive FILE and start one instance per addressed unit and item.

    A second import of the same number changes nothing and says so.

    \b
    Example:
      workflow units import examples/units.yaml
      workflow directive import examples/19-CV-DUK.yaml
    """
    from workflow.directives import import_directive

    from ..output import emit_json

    result = import_directive(state.engine(create=True), file, by=by)
    if as_json:
        emit_json(
            {
                "number": result.directive.number,
                "id": result.directive.id,
                "created": result.created,
                "started": dict(result.started),
                "message": result.message,
            }
        )
    else:
        click.echo(result.message)


@group.command("report")
@click.argument("number")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--at",
    type=INSTANT,
    help="Report as of TIME (an ISO-8601 instant, or a date: its local midnight; default: now).",
)
@tz_option
@click.option(
    "-o",
    "--output",
    default="-",
    metavar="FILE",
    help="Write here (default stdout; xlsx needs a file or a pipe). Written atomically, 0600.",
)
@click.option(
    "--bom/--no-bom",
    default=None,
    help="Start a CSV with a byte-order mark, so Excel reads the Vietnamese text as UTF-8 "
    "(default: in Vietnamese, the directive commands' default language).",
)
@codes_option
@json_option
@pass_state
def report(
    state: State,
    number: str,
    fmt: str,
    at: Any,
    output: str,
    bom: bool | None,
    codes: bool,
    as_json: bool,
) -> None:
    """Where every item of directive NUMBER stands, per unit: overdue, totals, percent done.

    xlsx: one sheet per view (totals, units, items), real dates, overdue rows filled.
    html: one self-contained page that prints on A4 under the dispatch's heading.
    Text cells that a spreadsheet would run as formulas are neutralised (csv, xlsx).

    \b
    Examples:
      workflow directive report 19-CV/ĐUK --format markdown
      workflow directive report 19-CV/ĐUK --format xlsx -o bao-cao.xlsx
      workflow directive report 19-CV/ĐUK --format html -o bao-cao.html
    """
    from workflow.directives import (
        directive_report,
        get_directive,
        render_markdown,
        report_headers,
        report_json,
        report_summary_lines,
        report_table_rows,
    )
    from workflow.i18n import _, zone_name

    from ..options import zone, zone_given
    from ..output import emit_json, table

    if as_json:
        if fmt not in ("table", "json"):
            raise click.UsageError(
                _("--json and --format {format} ask for two formats; give one", format=fmt)
            )
        fmt = "json"
    if fmt == "table" and output != "-":
        raise click.UsageError(
            _("-o writes a file: give --format csv, json, markdown, xlsx or html")
        )
    if fmt == "xlsx" and output == "-" and sys.stdout.isatty():
        raise click.UsageError(_("an xlsx workbook is not for a terminal: give -o FILE"))
    prefer_zone(get_directive(state.engine(), number).timezone)
    result = directive_report(state.engine(), number, at=instant(at))
    shown_in = zone_name(zone()) if zone_given() else None
    if fmt in ("xlsx", "html", "csv") or output != "-":
        _write_report(result, fmt, output, bom=_bom(bom), codes=codes, zone=shown_in)
    elif fmt == "json":
        emit_json(report_json(result))
    elif fmt == "markdown":
        click.echo(render_markdown(result, codes=codes, zone=shown_in), nl=False)
    else:
        for line in report_summary_lines(result, zone=shown_in):
            click.echo(line)
        click.echo()
        table(report_headers(), report_table_rows(result, codes=codes, zone=shown_in))


def _bom(given: bool | None) -> bool:
    """``--bom/--no-bom`` as given, else on when the command speaks Vietnamese."""
    from workflow.i18n import language

    return language() == "vi" if given is None else given


def _write_report(
    result: Any, fmt: str, output: str, *, bom: bool, codes: bool, zone: str | None
) -> None:
    """A report in a file format, to ``output`` (atomically, 0600) or stdout."""
    import json

    from workflow.directives import (
        render_csv,
        render_markdown,
        render_report_html,
        report_json,
        write_report_xlsx,
    )
    from workflow.i18n import _

    from ..output import binary_output_file, output_file

    if fmt == "xlsx":
        with binary_output_file(output) as binary:
            write_report_xlsx(result, binary)
    else:
        texts = {
            "csv": lambda: render_csv(result, bom=bom, codes=codes, zone=zone),
            "html": lambda: render_report_html(result),
            "markdown": lambda: render_markdown(result, codes=codes, zone=zone),
            "json": lambda: json.dumps(report_json(result), ensure_ascii=False, indent=2) + "\n",
        }
        text = texts[fmt]()
        with output_file(output) as out:
            out.write(text)
    if output != "-":
        click.echo(_("wrote the {format} report to {path}", format=fmt, path=output), err=True)


@click.group("units")
def units_group() -> None:
    """The registry of units (đơn vị) that directives are addressed to."""


@units_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_state
def units_import(state: State, file: str) -> None:
    """Create or update the units listed in FILE.

    \b
    Example:
      workflow units import examples/units.yaml
    """
    from workflow.directives import import_units
    from workflow.i18n import _

    result = import_units(state.engine(create=True), file)
    click.echo(
        _(
            "units: {created} created, {updated} updated, {unchanged} unchanged",
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
        )
    )


@units_group.command("list")
@click.option("--kind", help="Only units of this kind (e.g. base).")
@json_option
@pass_state
def units_list(state: State, kind: str | None, as_json: bool) -> None:
    """List registered units.

    \b
    Example:
      workflow units list --kind base --json
    """
    from workflow.directives import list_units
    from workflow.i18n import _

    from ..output import emit_json, table

    rows = list_units(state.engine(), kind)
    if as_json:
        emit_json([u.__dict__ for u in rows])
        return
    table([_("code"), _("kind"), _("name")], [[u.code, u.kind, u.name_vi] for u in rows])


@group.command("difficulty")
@click.argument("number")
@actor_option
@click.option("--description", required=True, help="The difficulty (khó khăn, vướng mắc).")
@click.option("--proposal", help="What the unit proposes (kiến nghị).")
@click.option("--item", "item_key", default="3", show_default=True, help="The directive's item.")
@pass_state
def difficulty(
    state: State, number: str, actor_id: str, description: str, proposal: str | None, item_key: str
) -> None:
    """Report a difficulty upward under directive NUMBER, for the Standing Committee to resolve.

    \b
    Example:
      workflow directive difficulty 19-CV/ĐUK --actor bi_thu.db_dien_luc \\
        --description "Người lao động làm theo ca"
    """
    from workflow.directives import report_difficulty
    from workflow.i18n import _

    result = report_difficulty(
        state.engine(),
        number,
        state.actor(actor_id),
        description=description,
        proposal=proposal,
        item_key=item_key,
    )
    click.echo(
        _(
            "reported as instance {id} ({state})",
            id=result.instance.id,
            state=result.instance.state,
        )
    )
