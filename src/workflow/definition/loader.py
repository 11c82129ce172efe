"""File → strict YAML → schema → frozen model → validation, with file and line on every problem."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Any

from pydantic import ValidationError

from workflow.definition import model as m
from workflow.definition.build import to_definition
from workflow.definition.schema import DefinitionModel
from workflow.definition.validate import Names, check
from workflow.definition.yamlsafe import MAX_BYTES, Marks, Path, dotted, read_yaml
from workflow.errors import DefinitionError, DefinitionIssue


def load_text(
    source: bytes | str, filename: str = "<string>", *, names: Names | None = None
) -> m.Definition:
    """Parse and validate one definition; raises :class:`DefinitionError` listing every problem."""
    data, marks = read_yaml(source, filename)
    text = source.decode("utf-8") if isinstance(source, bytes) else source
    if not isinstance(data, dict):
        raise DefinitionError([DefinitionIssue(filename, 1, "", "a definition is a mapping")])
    try:
        doc = DefinitionModel.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(schema_issues(exc, marks, filename, data)) from None
    definition = to_definition(doc.model_dump(by_alias=True), text, filename)
    findings = check(definition, names if names is not None else Names())
    if findings:
        raise DefinitionError(
            [
                DefinitionIssue(filename, marks.line_of(path), dotted(path), message)
                for path, message in findings
            ]
        )
    return definition


def load_file(path: str | FilePath, *, names: Names | None = None) -> m.Definition:
    """Read, parse and validate the definition file at ``path``."""
    file = FilePath(path)
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise DefinitionError(
                [
                    DefinitionIssue(
                        str(file), None, "", f"file is {size:,} bytes; the limit is {MAX_BYTES:,}"
                    )
                ]
            )
        raw = file.read_bytes()
    except OSError as exc:
        raise DefinitionError(
            [DefinitionIssue(str(file), None, "", f"cannot read: {exc.strerror}")]
        ) from None
    return load_text(raw, str(file), names=names)


def schema_issues(
    exc: ValidationError, marks: Marks, filename: str, data: Any
) -> list[DefinitionIssue]:
    """A pydantic error as one issue per problem, each with file, line and key path.

    Shared by every strict YAML file the engine reads (definitions, directives, units).
    """
    issues: list[DefinitionIssue] = []
    seen: set[tuple[Path, str]] = set()
    for error in exc.errors():
        path = _clean_path(error["loc"], data)
        message = _message(error)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        issues.append(DefinitionIssue(filename, marks.line_of(path), dotted(path), message))
    return issues


def _clean_path(loc: tuple[int | str, ...], data: Any) -> Path:
    """Drop pydantic's union-branch names from a location, keeping only real keys and indexes."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and (part in node or part == "not_"):
            key = "not" if part == "not_" else part
            path.append(key)
            node = node.get(key)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str):
            path.append(part)  # a missing key: name it; there is nothing below it to walk
            break
    return tuple(path)


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    text = str(error["msg"])
    return text.removeprefix("Value error, ")
