"""``workflow demo``: play directive 19-CV/ĐUK on a fresh SQLite file and print the outcome."""

from __future__ import annotations

import os
from typing import Any

import click

DEMO_URL = "sqlite:///demo.db"


@click.command("demo")
@click.option("--quiet", is_flag=True, help="Print only the report and the audit result.")
@click.pass_context
def command(ctx: click.Context, quiet: bool) -> None:
    """Simulate 19-CV/ĐUK from 07/09/2020 past its deadline and print the progress report.

    It plays on a new SQLite file: the global --db when given (sqlite:///FILE), else demo.db. A
    file that exists is replaced only if an earlier demo made it.

    \b
    Example:
      workflow demo
      workflow --db sqlite:///demo.db directive report 19-CV/ĐUK --format markdown
    """
    from workflow.directives import report_headers, report_summary_lines, report_table_rows
    from workflow.i18n import _

    from ..output import table
    from ..simulation import run_demo

    root = ctx.find_root()
    given = root.get_parameter_source("db_url") != click.core.ParameterSource.DEFAULT
    result = run_demo(sqlite_file(root.params["db_url"] if given else DEMO_URL))
    if not quiet:
        click.echo(_("== timeline ({zone}) ==", zone="Asia/Ho_Chi_Minh"))
        for line in result.timeline:
            click.echo(line)
        click.echo(
            _(
                "timers fired (reminders, overdue marks, escalation): {count}",
                count=result.timers_fired,
            )
        )
        click.echo()
        click.echo(
            _(
                "== who acts next: {count} notices from the outbox, e.g. ==",
                count=len(result.notices),
            )
        )
        for kind in ("thẩm định", "bị trả lại", "chờ ký", "chờ lưu trữ", "tháo gỡ"):
            for line in [n for n in result.notices if kind in n][:2]:
                click.echo(line)
        click.echo()
    click.echo(_("== progress report =="))
    for line in report_summary_lines(result.report):
        click.echo(line)
    click.echo()
    table(report_headers(), report_table_rows(result.report))
    click.echo()
    v = result.verification
    status = _("ok") if v.ok else _("TAMPERED")
    click.echo(
        _(
            "== audit: {status}: {chains} chains, {events} events verified ==",
            status=status,
            chains=v.chains,
            events=v.events,
        )
    )
    click.echo()
    for line in office_files(result.report, str(result.db_path)):
        click.echo(line)
    db = f"sqlite:///{result.db_path}"
    click.echo()
    click.echo(_("Try next:"))
    lines = [
        f"workflow --db {db} directive report 19-CV/ĐUK --format markdown",
        f"workflow --db {db} list --workflow signing --state awaiting_signature",
    ]
    lines += [
        f"workflow --db {db} history {i}    # {_(what)}" for what, i in result.highlights.items()
    ]
    lines += [
        f"workflow --db {db} audit verify",
        f"workflow --db {db} definitions show plan_drafting",
    ]
    for line in lines:
        click.echo(f"  {line}")


def office_files(report: Any, db_path: str) -> list[str]:
    """Write the report as xlsx and HTML beside the demo's database; say where (or what to
    install when the office extra is missing)."""
    from workflow import MissingExtra
    from workflow.directives import render_report_html, write_report_xlsx
    from workflow.i18n import _

    from ..output import binary_output_file, output_file

    stem = os.path.splitext(db_path)[0]
    xlsx, html = f"{stem}-report.xlsx", f"{stem}-report.html"
    try:
        with binary_output_file(xlsx) as binary:
            write_report_xlsx(report, binary)
        page = render_report_html(report)
    except MissingExtra as exc:
        return [_("(no xlsx or HTML report: {why})", why=exc)]
    with output_file(html) as out:
        out.write(page)
    return [
        _("the report in Excel (xlsx): {path}", path=os.path.abspath(xlsx)),
        _("the report to print (HTML, A4): {path}", path=os.path.abspath(html)),
    ]


def sqlite_file(url: str) -> str:
    """The file of a ``sqlite:///FILE`` URL; the demo plays on nothing else."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or "?" in url:
        from workflow.i18n import _

        raise click.UsageError(
            _("the demo plays on a SQLite file (--db sqlite:///FILE), not {url}", url=url)
        )
    return url.removeprefix(prefix)
