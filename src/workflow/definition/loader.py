"""File → strict YAML → schema → frozen model → validation, with file and line on every problem."""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Any

from pydantic import ValidationError

from workflow.definition import model as m
from workflow.definition.build import to_definition
from workflow.definition.schema import DefinitionModel
from workflow.definition.validate import Names, check
from workflow.definition.yamlsafe import Marks, Path, dotted, read_file, read_yaml
from workflow.errors import DefinitionError, DefinitionIssue


def load_text(
    source: bytes | str, filename: str = "<string>", *, names: Names | None = None
) -> m.Definition:
    """Parse and validate one definition; raises :class:`DefinitionError` listing every problem."""
    return load_document(source, filename, names=names)[0]


def load_document(
    source: bytes | str, filename: str = "<string>", *, names: Names | None = None
) -> tuple[m.Definition, dict[str, Any]]:
    """:func:`load_text`, with the parsed document too (what the content hash is taken of, so a
    deploy parses its file once)."""
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
    return definition, data


def load_file(path: str | FilePath, *, names: Names | None = None) -> m.Definition:
    """Read (up to the size limit), parse and validate the definition file at ``path``."""
    return load_text(read_file(path), str(path), names=names)


def schema_issues(
    exc: ValidationError, marks: Marks, filename: str, data: Any
) -> list[DefinitionIssue]:
    """A pydantic error as one issue per problem, each with file, line and key path.

    Shared by every strict YAML file the engine reads (definitions, directives, units). A value
    that is a bad name gets the one message about names, not one per form the key could take.
    """
    errors = exc.errors()
    bad_names = {_clean_path(e["loc"], data) for e in errors if _is_name_error(e)}
    issues: list[DefinitionIssue] = []
    seen: set[tuple[Path, str]] = set()
    for error in errors:
        path = _clean_path(error["loc"], data)
        if path in bad_names and not _is_name_error(error):
            continue  # the other forms of a union (a list, "*") would only be noise
        message = _message(error, path, data)
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
        if part == "[key]":
            break  # the problem is the key itself: its path is where it stands
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


_NAME_PATTERN = "^[a-z][a-z0-9_]*$"


def _is_name_error(error: Any) -> bool:
    context = error.get("ctx") or {}
    kind = error["type"]
    return bool(kind == "string_pattern_mismatch" and context.get("pattern") == _NAME_PATTERN)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _name_hint(value: object) -> str:
    shown = _shown(value)
    hint = f"{shown} is not a name: names are lower_snake_case (a-z, 0-9 and _, a letter first)"
    if isinstance(value, str):
        suggestion = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
        if re.fullmatch(_NAME_PATTERN, suggestion):
            hint += f", e.g. {suggestion!r}"
    return hint


def _parent(path: Path, data: Any) -> Any:
    node = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _message(error: Any, path: Path = (), data: Any = None) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = path[-1] if path else ""
        parent = _parent(path, data)
        if (
            error.get("input") is None
            and isinstance(parent, dict)
            and {"vi", "en"} & set(parent)
        ):
            return (
                f"unknown key {key!r}: a label holding a comma inside {{...}} is split there; "
                'quote the label (vi: "..., ...")'
            )
        return f"unknown key {key!r}"
    if kind == "missing":
        return "required key is missing"
    if _is_name_error(error):
        return _name_hint(error.get("input"))
    text = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, (str, int, float, bool)) and repr(value) not in text:
        text += f" (found {_shown(value)})"
    return text
