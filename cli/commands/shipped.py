"""``workflow examples`` and ``workflow docs``: the files shipped inside the package."""

from __future__ import annotations

import click


@click.group("examples")
def examples_group() -> None:
    """The shipped definitions and the 19-CV/ĐUK example, to copy and edit."""


@examples_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace files that are already there.")
def export(directory: str, overwrite: bool) -> None:
    """Write DIRECTORY/definitions/*.yaml and DIRECTORY/examples/*.yaml.

    \b
    Example:
      workflow examples export my-directives
      workflow definitions deploy my-directives/definitions/*.yaml
      workflow units import my-directives/examples/units.yaml
      workflow directive import my-directives/examples/19-CV-DUK.yaml
    """
    from workflow import InvalidInput
    from workflow.shipped import export_examples

    try:
        written = export_examples(directory, overwrite=overwrite)
    except InvalidInput as exc:  # the library names its parameter; here it is an option
        message = str(exc).replace("(overwrite=True replaces them)", "(--overwrite replaces them)")
        raise click.ClickException(message) from None
    for path in written:
        click.echo(str(path))


@click.command("docs")
@click.argument("topic", required=False)
def docs(topic: str | None) -> None:
    """Print a shipped document (Markdown); without TOPIC, list the topics.

    \b
    Example:
      workflow docs cli
      workflow docs definitions | less
    """
    from workflow.shipped import doc_text, doc_topics

    if topic is None:
        for name in doc_topics():
            click.echo(name)
        return
    click.echo(doc_text(topic), nl=False)
