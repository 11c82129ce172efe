"""Strict, safe YAML reading that remembers where every key was written.

Refuses what a definition never needs and an attacker might send: aliases and anchors (billion
laughs), duplicate keys, tags beyond plain scalars, collections and nesting deeper than
:data:`MAX_DEPTH`, files over :data:`MAX_BYTES` and bytes that are not UTF-8.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # libyaml's parser: parsing a 1 MiB file in PyYAML's Python alone costs CPU seconds
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

from workflow.errors import DefinitionError, DefinitionIssue, InputTooLarge
from workflow.limits import MAX_INT_DIGITS, MAX_NESTING, read_at_most

MAX_BYTES = 1024 * 1024
MAX_DEPTH = MAX_NESTING

Path = tuple[str | int, ...]

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    # Dates stay text: the schema decides what a date means, not the YAML resolver.
    "tag:yaml.org,2002:timestamp",
}


@dataclass
class Marks:
    """Line numbers (1-based) of every key and item, by path from the document root."""

    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


class _Problem(Exception):
    def __init__(self, line: int | None, message: str, key: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.key = key
        self.message = message


class _StrictLoader(_Loader):
    """Parser events, PyYAML's resolver and scalar constructors; its composer is not used (see
    :func:`_value`)."""


def read_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a YAML file, at most :data:`MAX_BYTES` of them (never more is read: a device
    or a FIFO has no size to check first); a :class:`DefinitionError` naming the file if not."""
    name = os.fsdecode(path)
    try:
        return read_at_most(path, MAX_BYTES)
    except InputTooLarge:
        raise _issue(name, None, f"file is larger than the limit of {MAX_BYTES:,} bytes") from None
    except OSError as exc:
        raise _issue(name, None, f"cannot read: {exc.strerror}") from None


def read_yaml(source: bytes | str, filename: str) -> tuple[object, Marks]:
    """Parse one YAML document into plain Python values and the marks of its keys."""
    raw = source.encode("utf-8") if isinstance(source, str) else source
    if len(raw) > MAX_BYTES:
        raise _issue(filename, None, f"file is larger than the limit of {MAX_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _issue(filename, line, f"not valid UTF-8 (byte {exc.start})") from exc
    try:
        yaml.reader.Reader(text)  # refuses control characters up front, as libyaml words it not
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as exc:
        # The reader refuses control characters up front, before the loader exists.
        line = text[: exc.position].count("\n") + 1
        message = f"character {chr(exc.character)!r} is not allowed in YAML"
        raise _issue(filename, line, message) from None
    marks = Marks()
    try:
        return _document(loader, marks), marks
    except _Problem as problem:
        raise _issue(filename, problem.line, problem.message, problem.key) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or exc}"
        if "maximum nesting depth" in str(exc.problem):  # libyaml's own cap, in flow style
            message = f"nesting deeper than {MAX_DEPTH} levels"
        raise _issue(filename, mark.line + 1 if mark else None, message) from None
    except yaml.YAMLError as exc:
        raise _issue(filename, None, f"YAML error: {exc}") from None
    except RecursionError:
        raise _issue(filename, None, "nesting too deep") from None
    finally:
        loader.dispose()


def _document(loader: _StrictLoader, marks: Marks) -> object:
    """The stream's one document, as plain values (PyYAML's composer's checks, in its words)."""
    loader.get_event()  # the stream's start
    if loader.check_event(yaml.StreamEndEvent):
        raise _Problem(1, "the file is empty")
    start: Any = loader.get_event()  # document start
    value = _value(loader, (), marks, 1)
    loader.get_event()  # document end
    if not loader.check_event(yaml.StreamEndEvent):
        end: Any = loader.peek_event()
        raise yaml.composer.ComposerError(
            "expected a single document in the stream",
            start.start_mark,
            "but found another document",
            end.start_mark,
        )
    return value


def _value(loader: _StrictLoader, path: Path, marks: Marks, depth: int) -> object:
    """The value starting at the next event, built straight from the events: no node graph
    (aliases and anchors are refused, so there is nothing to share), one pass over the file."""
    event: Any = loader.get_event()
    line = event.start_mark.line + 1
    if isinstance(event, yaml.AliasEvent):
        raise _Problem(line, "YAML aliases (*name) are not allowed in definitions")
    if event.anchor is not None:
        raise _Problem(line, "YAML anchors (&name) are not allowed in definitions")
    if depth > MAX_DEPTH:
        raise _Problem(line, f"nesting deeper than {MAX_DEPTH} levels")
    marks.lines.setdefault(path, line)
    if isinstance(event, yaml.ScalarEvent):
        tag = _tag(loader, event, ScalarNode, event.value)
        if tag not in _SCALAR_TAGS:
            raise _Problem(line, f"tag {tag} is not allowed", _dotted(path))
        if tag in (_STR, "tag:yaml.org,2002:timestamp"):
            return str(event.value)
        return _scalar(loader, ScalarNode(tag, event.value, style=event.style), path, line)
    if isinstance(event, yaml.SequenceStartEvent):
        tag = _tag(loader, event, SequenceNode, None)
        if tag != "tag:yaml.org,2002:seq":
            raise _Problem(line, f"tag {tag} is not allowed", _dotted(path))
        items: list[object] = []
        while not loader.check_event(yaml.SequenceEndEvent):
            items.append(_value(loader, (*path, len(items)), marks, depth + 1))
        loader.get_event()
        return items
    if isinstance(event, yaml.MappingStartEvent):
        tag = _tag(loader, event, MappingNode, None)
        if tag != "tag:yaml.org,2002:map":
            raise _Problem(line, f"tag {tag} is not allowed", _dotted(path))
        result: dict[str, object] = {}
        while not loader.check_event(yaml.MappingEndEvent):
            key = _key(loader)
            key_event: Any = loader.get_event()
            key_line = key_event.start_mark.line + 1
            if key in result:
                first = marks.lines.get((*path, key))
                raise _Problem(
                    key_line,
                    f"duplicate key {key!r} (first at line {first})",
                    _dotted((*path, key)),
                )
            marks.lines[(*path, key)] = key_line
            result[key] = _value(loader, (*path, key), marks, depth + 1)
        loader.get_event()
        return result
    raise _Problem(line, "unsupported YAML node")  # pragma: no cover - the parser sends none


_STR = "tag:yaml.org,2002:str"


def _tag(loader: _StrictLoader, event: Any, kind: type[Node], value: object) -> str:
    """The event's tag, resolved as PyYAML's composer resolves it."""
    if event.tag is None or event.tag == "!":
        implicit = getattr(event, "implicit", True)  # a collection's is one flag, a scalar's two
        return str(loader.resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
    return str(event.tag)


def _key(loader: _StrictLoader) -> str:
    """The next mapping key (not consumed), which must be a plain scalar."""
    event: Any = loader.peek_event()
    line = event.start_mark.line + 1
    if isinstance(event, yaml.AliasEvent):
        raise _Problem(line, "YAML aliases (*name) are not allowed in definitions")
    if event.anchor is not None:
        raise _Problem(line, "YAML anchors (&name) are not allowed in definitions")
    if (
        not isinstance(event, yaml.ScalarEvent)
        or _tag(loader, event, ScalarNode, event.value) not in _SCALAR_TAGS
    ):
        raise _Problem(line, "mapping keys must be plain text")
    return str(event.value)


def _scalar(loader: _StrictLoader, node: ScalarNode, path: Path, line: int) -> object:
    """A plain scalar, refused when it is no JSON value (``.nan``, ``.inf``, 5,000 digits)."""
    if node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_INT_DIGITS:
        raise _Problem(
            line,
            f"the number {node.value[:12]}... has {len(node.value):,} digits; the limit is "
            f"{MAX_INT_DIGITS} (quote it to make it text)",
            _dotted(path),
        )
    value = loader.construct_object(node, deep=True)
    if isinstance(value, float) and not math.isfinite(value):
        raise _Problem(
            line,
            f"{node.value} is not a number a definition can hold (values are JSON: "
            "write a finite number, or quote it to make it text)",
            _dotted(path),
        )
    return value


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def dotted(path: Path) -> str:
    """A path as administrators read it: ``transitions[2].guards``."""
    return _dotted(path)


def _issue(filename: str, line: int | None, message: str, key: str = "") -> DefinitionError:
    return DefinitionError([DefinitionIssue(filename, line, key, message)])
