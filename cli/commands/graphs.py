"""Diagrams: ``workflow definitions graph`` and ``workflow graph INSTANCE_ID``."""

from __future__ import annotations

from typing import Any

import click

from ..context import State, json_option, pass_state

FORMATS = ("mermaid", "dot", "svg")
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="mermaid",
    show_default=True,
    help="Mermaid and DOT are text; SVG needs Graphviz's `dot` program.",
)
output_option = click.option(
    "-o", "--output", default="-", metavar="FILE", help="Write here (default stdout)."
)


def _write(text: str, output: str) -> None:
    from ..output import output_file

    with output_file(output) as out:
        out.write(text)


def _emit(document: dict[str, Any], as_json: bool, output: str) -> None:
    from ..output import emit_json

    if as_json:
        emit_json(document)
    else:
        _write(document["diagram"], output)


@click.command("graph")
@click.argument("name", metavar="NAME[@VERSION]")
@format_option
@output_option
@json_option
@pass_state
def definition_graph(state: State, name: str, fmt: str, output: str, as_json: bool) -> None:
    """Draw a deployed definition's states and transitions.

    \b
    Examples:
      workflow definitions graph plan_drafting > plan.mmd
      workflow definitions graph plan_drafting@2 --format svg -o plan.svg
    """
    from workflow import InvalidInput
    from workflow.auditing import render_graph

    workflow, _, version_text = name.partition("@")
    if version_text and not version_text.isdigit():
        raise InvalidInput(f"{name!r}: the version after @ is a number")
    definition = state.engine().definition(workflow, int(version_text) if version_text else None)
    _emit(
        {
            "workflow": definition.name,
            "version": int(version_text) if version_text else None,
            "format": fmt,
            "diagram": render_graph(definition, fmt),
        },
        as_json,
        output,
    )


@click.command("graph")
@click.argument("instance_id", type=int)
@format_option
@output_option
@json_option
@pass_state
def instance_graph(state: State, instance_id: int, fmt: str, output: str, as_json: bool) -> None:
    """Draw an instance's workflow, current state and path taken.

    The path comes from the audit log; an edge taken more than once is labelled xN.

    \b
    Examples:
      workflow graph 42
      workflow graph 42 --format svg -o case-42.svg
    """
    from workflow.auditing import path_of, render_graph, taken_path

    engine = state.engine()
    instance = engine.get(instance_id)
    events = engine.history(instance_id)
    definition = engine.definition(instance.workflow, instance.definition_version)
    highlight = path_of(events)
    _emit(
        {
            "instance_id": instance.id,
            "workflow": instance.workflow,
            "version": instance.definition_version,
            "current": instance.state,
            "path": [e.to_state for e in events],
            "taken": list(taken_path(highlight)),
            "format": fmt,
            "diagram": render_graph(definition, fmt, highlight),
        },
        as_json,
        output,
    )
