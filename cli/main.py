"""The root ``workflow`` command: global options, the command groups, errors → exit codes."""

from __future__ import annotations

import os
import sys

import click

from cli import errors
from cli.commands import actors, audit, db, definitions, instances, timers
from cli.context import State

EPILOG = """Exit codes: 0 ok; 1 refused by the rules; 2 bad input or usage;
3 audit verification found tampering; 4 concurrent modification (retry)."""


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.option(
    "--db",
    "db_url",
    envvar="WORKFLOW_DATABASE_URL",
    default="sqlite:///workflow.db",
    show_default=True,
    metavar="URL",
    help="Database URL (sqlite:///file.db or postgresql+psycopg://...).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every applied transition to stderr.")
@click.version_option(package_name="workflow", prog_name="workflow")
@click.pass_context
def cli(ctx: click.Context, db_url: str, verbose: bool) -> None:
    """Run directives as declarative, persisted, audited state machines.

    \b
    Example:
      workflow definitions deploy definitions/plan_drafting.yaml
      workflow start plan_drafting --actor alice --unit chi_bo_1
    """
    from cli.logs import configure

    configure(verbose)
    ctx.obj = State(db_url)
    ctx.call_on_close(ctx.obj.close)


cli.add_command(definitions.group)
cli.add_command(actors.group)
cli.add_command(audit.group)
cli.add_command(db.group)
cli.add_command(timers.group)
for command in instances.COMMANDS:
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn expected errors into one line and an exit code."""
    try:
        code = cli.main(args=argv, prog_name="workflow", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(errors.BAD_INPUT)
    except Exception as exc:
        code = errors.exit_code_for(exc)
        if code == errors.INTERNAL:
            if os.environ.get("WORKFLOW_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {exc} (set WORKFLOW_DEBUG=1 for details)",
                err=True,
            )
        else:
            click.echo(f"error: {exc}", err=True)
        sys.exit(code)
    sys.exit(code if isinstance(code, int) else 0)
