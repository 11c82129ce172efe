"""The definition guide cannot drift: its YAML is validated and its tutorial run verbatim."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_runner import run_cli

from workflow import DefinitionError
from workflow.definition.loader import load_text
from workflow.definition.validate import Names

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "definitions.md"
NAMES = Names(guards={"budget_available"}, effects={"assign_number"})
MARKER = re.compile(r"<!--\s*([\w-]+)(?::\s*(.*?))?\s*-->")


@dataclass
class Block:
    """One fenced block of the guide, with the marker comment just above it (if any)."""

    lang: str
    text: str
    line: int
    marker: str | None = None
    argument: str = ""


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)
    checked: bool = True


def blocks() -> list[Block]:
    found: list[Block] = []
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    marker: tuple[str, str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        match = MARKER.fullmatch(line.strip())
        if match:
            marker = (match.group(1), match.group(2) or "")
        elif line.startswith("```") and len(line) > 3:
            end = lines.index("```", i + 1)
            block = Block(line[3:].strip(), "\n".join(lines[i + 1 : end]) + "\n", i + 1)
            if marker:
                block.marker, block.argument = marker
            found.append(block)
            marker = None
            i = end
        elif line.strip():
            marker = None
        i += 1
    return found


YAML = [b for b in blocks() if b.lang == "yaml"]


def test_the_guide_has_yaml_and_a_tutorial():
    assert len(YAML) >= 10
    assert any(b.marker == "invalid" for b in YAML)
    assert any(b.lang == "console" for b in blocks())


@pytest.mark.parametrize(
    "block", [b for b in YAML if b.marker != "invalid"], ids=lambda b: f"line{b.line}"
)
def test_yaml_snippet_is_valid(block):
    load_text(block.text, f"definitions.md:{block.line}", names=NAMES)


@pytest.mark.parametrize(
    "block", [b for b in YAML if b.marker == "invalid"], ids=lambda b: f"line{b.line}"
)
def test_invalid_yaml_snippet_fails_with_the_message_the_guide_shows(block):
    with pytest.raises(DefinitionError) as caught:
        load_text(block.text, f"definitions.md:{block.line}", names=NAMES)
    messages = [issue.message for issue in caught.value.issues]
    assert any(block.argument in message for message in messages), messages


def tutorial() -> list[tuple[str, object]]:
    """The tutorial in reading order: files to write and commands to run."""
    steps: list[tuple[str, object]] = []
    for block in blocks():
        if block.marker == "file":
            steps.append(("file", (block.argument, block.text)))
        elif block.lang == "console":
            current: Step | None = None
            for line in block.text.splitlines():
                if line.startswith("$ "):
                    current = Step(line[2:], checked=block.marker != "output-not-checked")
                    steps.append(("run", current))
                elif current is not None:
                    current.expected.append(line)
    return steps


def _installed(command: str) -> bool:
    from cli.main import cli

    group = cli
    for word in shlex.split(command)[1:]:
        commands = getattr(group, "commands", None)
        if commands is None or word.startswith("-"):
            return True
        if word not in commands:
            return False
        group = commands[word]
    return True


def _matches(expected: list[str], actual: list[str]) -> bool:
    if len(expected) != len(actual):
        return False
    return all(
        a.startswith(e[:-3]) if e.endswith("...") else a == e
        for e, a in zip(expected, actual, strict=True)
    )


def test_the_tutorial_runs_verbatim(database_url, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    steps = tutorial()
    assert sum(kind == "run" for kind, _ in steps) >= 20
    for kind, step in steps:
        if kind == "file":
            name, text = step  # type: ignore[misc]
            (tmp_path / name).write_text(text, encoding="utf-8")
            continue
        assert isinstance(step, Step)
        if not step.checked and not _installed(step.command):
            continue
        code, output = run_cli(capsys, database_url, step.command)
        if not step.checked:
            assert code == 0, (step.command, output)
            continue
        lines = output.splitlines()
        refused = any(line.startswith("error:") for line in step.expected)
        assert (code != 0) == refused, (step.command, code, output)
        assert _matches(step.expected, lines), (step.command, step.expected, lines)
