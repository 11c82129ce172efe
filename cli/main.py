"""The root ``workflow`` command: global options, the command groups, errors → exit codes."""

from __future__ import annotations

import os
import sys

import click

from . import errors, language
from .commands import (
    actors,
    audit,
    calendar,
    db,
    definitions,
    demo,
    directives,
    events,
    graphs,
    instances,
    service,
    shipped,
    timers,
    versions,
)
from .context import State
from .help import SectionedGroup

EPILOG = """Exit codes: 0 ok; 1 refused by the rules; 2 bad input or usage;
3 audit verification found tampering; 4 concurrent modification (retry);
141 the output's reader went away (| head), silently."""


class _PipeClosed(Exception):
    """Whoever read the output closed it: not an error of the rules, nothing to say."""


class _Root(SectionedGroup):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _PipeClosed from None  # before Click's own handler, which exits 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the flush at exit does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (an in-process run)
        pass


def _speak_early(value: str | None) -> str | None:
    """``--lang`` is eager: ``workflow --lang vi --help`` shows the help in Vietnamese."""
    if value is not None:
        language.choose(value, None, cli)
    return value


@click.group(
    cls=_Root,
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
@click.option(
    "--functions",
    "functions",
    multiple=True,
    envvar="WORKFLOW_FUNCTIONS",
    metavar="MODULE",
    help="Import MODULE, which registers guard and effect functions (repeatable; installed "
    "packages can register theirs through the entry-point group workflow.functions).",
)
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    envvar="WORKFLOW_LANG",
    is_eager=True,
    callback=lambda _ctx, _param, value: _speak_early(value),
    help="Language of messages and tables: vi (Vietnamese) or en (English). Default: "
    "WORKFLOW_LANG, else vi for the directive commands and the demo, else the locale's.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every applied transition to stderr.")
@click.version_option(package_name="directive-workflow", prog_name="workflow")
@click.pass_context
def cli(
    ctx: click.Context, db_url: str, functions: tuple[str, ...], lang: str | None, verbose: bool
) -> None:
    """Run directives as declarative, persisted, audited state machines.

    \b
    Example:
      workflow demo
      workflow definitions deploy --builtin
      workflow start plan_drafting --actor alice --unit chi_bo_1

    Every read command takes --json (fields in `workflow docs cli`).

    \b
    Shell completion, e.g. in ~/.bashrc (zsh: zsh_source, fish: fish_source):
      eval "$(_WORKFLOW_COMPLETE=bash_source workflow)"
    """
    from .logs import configure

    language.choose(lang, ctx.invoked_subcommand, cli)
    configure(verbose)
    ctx.obj = State(db_url, functions)
    ctx.call_on_close(ctx.obj.close)


cli.add_command(definitions.group)
for command in versions.DEFINITION_COMMANDS:
    definitions.group.add_command(command)
cli.add_command(versions.migrate)
cli.add_command(actors.group)
cli.add_command(audit.group)
cli.add_command(db.group)
cli.add_command(events.group)
cli.add_command(directives.group)
cli.add_command(directives.units_group)
cli.add_command(demo.command)
cli.add_command(shipped.examples_group)
cli.add_command(shipped.docs)
cli.add_command(timers.group)
cli.add_command(calendar.group)
cli.add_command(service.serve)
cli.add_command(service.users_group)
cli.add_command(service.tokens_group)
for command in instances.COMMANDS:
    cli.add_command(command)
cli.add_command(graphs.instance_graph)
definitions.group.add_command(graphs.definition_graph)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; an expected error is one line on stderr per problem,
    then one summary line (``error: ...``)."""
    from workflow.i18n import reset_language, resolve_language

    before = language.speak(resolve_language(), cli)
    try:
        return _run(argv)
    finally:
        reset_language(before)  # an in-process run leaves the caller's language as it was


def _run(argv: list[str] | None) -> int:
    from workflow.i18n import _

    try:
        code = cli.main(args=argv, prog_name="workflow", standalone_mode=False)
    except _PipeClosed:
        _silence_stdout()
        return errors.PIPE_CLOSED
    except click.exceptions.Abort:
        click.echo(_("aborted"), err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        # one line, like every other expected error; the usage is a --help away
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = " " + _("(see `{command} --help`)", command=exc.ctx.command_path)
        click.echo(_("error: {message}", message=exc.format_message() + hint), err=True)
        return errors.BAD_INPUT
    except Exception as exc:
        code = errors.exit_code_for(exc)
        if code == errors.INTERNAL:
            if os.environ.get("WORKFLOW_DEBUG"):
                raise
            click.echo(
                _(
                    "internal error: {kind}: {message} (set WORKFLOW_DEBUG=1 for details)",
                    kind=type(exc).__name__,
                    message=_first_line(exc),
                ),
                err=True,
            )
        else:
            # one line per problem (file:line first, as compilers print them), the summary last
            summary, *problems = str(exc).splitlines()
            for problem in problems:
                click.echo(problem.strip(), err=True)
            click.echo(_("error: {message}", message=summary), err=True)
        return code
    return code if isinstance(code, int) else 0


def _first_line(exc: BaseException) -> str:
    """What a bug's one line may show: the driver's own message for a database error (never
    SQLAlchemy's "[SQL: ...] [parameters: ...]" text), and only its first line."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else ""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: exits with the code of :func:`run`."""
    code = run(sys.argv[1:] if argv is None else argv)
    try:
        sys.stdout.flush()  # what is still buffered, while a closed pipe can be told apart
    except BrokenPipeError:
        _silence_stdout()
        code = errors.PIPE_CLOSED
    sys.exit(code)
