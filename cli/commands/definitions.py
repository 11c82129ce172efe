"""``workflow definitions``: validate, deploy, list, show and export the schema."""

from __future__ import annotations

from pathlib import Path

import click

from workflow.i18n import N_, _

from ..context import State, by_option, json_option, pass_state
from ..options import tz_option


@click.group("definitions")
def group() -> None:
    """Write, check and deploy workflow definitions (YAML)."""


@group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@json_option
@pass_state
def validate(state: State, files: tuple[str, ...], as_json: bool) -> None:
    """Check definition files and report every problem with file and line.

    Guard and effect functions are those --functions and the workflow.functions entry points
    register.

    \b
    Example:
      workflow definitions validate definitions/*.yaml
      workflow --functions myapp.guards definitions validate flows/*.yaml
    """
    from workflow import DefinitionError, validate_definition

    from ..output import emit_json

    state.load_functions()

    results, failures = [], []
    for file in files:
        try:
            definition = validate_definition(file)
            results.append({"file": file, "workflow": definition.name, "ok": True})
        except DefinitionError as exc:
            failures.append(exc)
            results.append(
                {"file": file, "ok": False, "issues": [str(issue) for issue in exc.issues]}
            )
    if as_json:
        emit_json(results)
    else:
        for result in results:
            if result["ok"]:
                click.echo(
                    _("ok: {file} ({workflow})", file=result["file"], workflow=result["workflow"])
                )
    if failures:
        raise DefinitionError([issue for exc in failures for issue in exc.issues])


@group.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@json_option
@pass_state
def test(state: State, files: tuple[str, ...], as_json: bool) -> None:
    """Run scenario files: each scenario starts an instance on a temporary database, fires
    triggers as actors, lets time pass, and checks states, data and refusals.

    Nothing is deployed anywhere: the database (--db) is not opened. A failed expectation is
    reported with file and line (exit code 1); a bad scenario or definition file exits 2.

    \b
    Example:
      workflow definitions test examples/peers/order_control.scenarios.yaml
    """
    from workflow.i18n import ngettext
    from workflow.scenarios import ScenarioFailed, run_scenarios

    from ..output import emit_json

    state.load_functions()
    reports = [run_scenarios(file) for file in files]
    if as_json:
        emit_json(
            [
                {
                    "file": r.file,
                    "ok": r.ok,
                    "passed": list(r.passed),
                    "failures": [str(issue) for issue in r.failures],
                }
                for r in reports
            ]
        )
    else:
        for report in reports:
            if report.ok:
                click.echo(
                    ngettext(
                        "ok: {file} ({count} scenario)",
                        "ok: {file} ({count} scenarios)",
                        len(report.passed),
                        file=report.file,
                    )
                )
    failures = [issue for r in reports for issue in r.failures]
    if failures:
        raise ScenarioFailed(failures, sum(len(r.passed) + len(r.failures) for r in reports))


@group.command("deploy")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--builtin",
    is_flag=True,
    help="Also deploy the definitions shipped with workflow (drawn from 19-CV/ĐUK).",
)
@by_option(N_("Who deploys (audited)."))
@json_option
@pass_state
def deploy(state: State, files: tuple[str, ...], builtin: bool, by: str, as_json: bool) -> None:
    """Deploy definitions: a new version when the content changed, else nothing.

    \b
    Example:
      workflow definitions deploy definitions/*.yaml
      workflow definitions deploy --builtin
    """
    from workflow.shipped import definition_files

    from ..output import emit_json

    if not files and not builtin:
        raise click.UsageError(_("give definition FILES, or --builtin for the shipped ones"))
    sources: list[str | Path] = [*files, *(definition_files() if builtin else [])]
    engine = state.engine(create=True)
    results = [engine.deploy(file, actor=by) for file in sources]
    if as_json:
        emit_json([r.__dict__ for r in results])
        return
    for r in results:
        message = N_("deployed {ref}") if r.created else N_("unchanged, already deployed as {ref}")
        click.echo(_(message, ref=f"{r.workflow}@{r.version}"))


@group.command("list")
@tz_option
@json_option
@pass_state
def list_(state: State, as_json: bool) -> None:
    """List deployed definitions, every version, with live instance counts.

    \b
    Example:
      workflow definitions list --json
    """
    from ..output import emit_json, table

    rows = state.engine().deployed()
    if as_json:
        emit_json([r.__dict__ for r in rows])
        return
    from workflow.i18n import _

    from ..options import timed

    table(
        [
            _("workflow"),
            _("version"),
            _("live"),
            _("retired"),
            _("disabled"),
            timed(_("deployed")),
            _("hash"),
        ],
        [
            [
                r.workflow,
                r.version,
                r.live_instances,
                _("yes") if r.retired else "",
                _("yes") if r.disabled else "",
                r.deployed_at,
                r.content_hash[:12],
            ]
            for r in rows
        ],
    )


@group.command("show")
@click.argument("name")
@json_option
@pass_state
def show(state: State, name: str, as_json: bool) -> None:
    """Show a deployed definition: NAME or NAME@VERSION.

    \b
    Example:
      workflow definitions show plan_drafting@1
    """
    from workflow import InvalidInput

    from ..output import emit_json, table

    workflow, _, version_text = name.partition("@")
    if version_text and not version_text.isdigit():
        raise InvalidInput(f"{name!r}: the version after @ is a number")
    definition = state.engine().definition(workflow, int(version_text) if version_text else None)
    if as_json:
        emit_json(
            {
                "workflow": definition.name,
                "labels": definition.labels.__dict__,
                "states": [
                    {"name": s.name, "initial": s.initial, "final": s.final}
                    for s in definition.states
                ],
                "transitions": [
                    {
                        "trigger": t.trigger,
                        "sources": list(t.sources),
                        "dest": t.dest,
                        "roles": list(t.roles),
                    }
                    for t in definition.transitions
                ],
            }
        )
        return
    click.echo(f"{definition.name}: {definition.labels.vi} / {definition.labels.en}")
    table(
        ["trigger", "from", "to", "roles"],
        [
            [t.trigger, ", ".join(t.sources), t.dest, ", ".join(t.roles)]
            for t in definition.transitions
        ],
    )


@group.command("schema")
def schema() -> None:
    """Print the JSON Schema of definition files (for editors).

    \b
    Example:
      workflow definitions schema > definition.schema.json
    """
    from workflow import definition_json_schema

    from ..output import emit_json

    emit_json(definition_json_schema())
