"""The files that ship inside the package: the definitions drawn from dispatch 19-CV/ĐUK, the
dispatch itself with the units it addresses, and the Markdown documentation.

In the repository they live where administrators look for them (``definitions/``,
``examples/``, ``docs/``); ``workflow/_data`` holds links to those folders, so a checkout, an
editable install and a wheel all read the same files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from workflow.errors import InvalidInput

DATA = Path(__file__).resolve().with_name("_data")
DEFINITIONS = DATA / "definitions"
EXAMPLES = DATA / "examples"
DOCS = DATA / "docs"
UNITS = EXAMPLES / "units.yaml"
DIRECTIVE = EXAMPLES / "19-CV-DUK.yaml"


def definition_files() -> list[Path]:
    """The shipped definitions, in name order (``workflow definitions deploy --builtin``)."""
    return sorted(DEFINITIONS.glob("*.yaml"))


def export_examples(directory: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the definitions and the example into ``directory``/definitions and /examples.

    Refuses, before writing anything, when a file is already there unless ``overwrite``.
    Returns the files written.
    """
    target = Path(directory)
    pairs = [(f, target / "definitions" / f.name) for f in definition_files()]
    pairs += [(f, target / "examples" / f.name) for f in sorted(EXAMPLES.glob("*.yaml"))]
    existing = [str(dest) for _, dest in pairs if dest.exists()]
    if existing and not overwrite:
        raise InvalidInput(
            f"{len(existing)} files already exist (first: {existing[0]}); "
            "nothing was written (overwrite=True replaces them)"
        )
    for source, dest in pairs:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
    return [dest for _, dest in pairs]


def doc_topics() -> list[str]:
    """The names of the shipped documents (``cli``, ``definitions``, ...)."""
    return sorted(p.stem for p in DOCS.glob("*.md"))


def doc_text(topic: str) -> str:
    """The Markdown text of one shipped document."""
    if topic not in doc_topics():
        raise InvalidInput(f"no document {topic!r}; topics: {', '.join(doc_topics())}")
    return (DOCS / f"{topic}.md").read_text(encoding="utf-8")
