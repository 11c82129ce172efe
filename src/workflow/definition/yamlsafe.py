"""Strict, safe YAML reading that remembers where every key was written.

Refuses what a definition never needs and an attacker might send: aliases and anchors (billion
laughs), duplicate keys, tags beyond plain scalars, collections and nesting deeper than
:data:`MAX_DEPTH`, files over :data:`MAX_BYTES` and bytes that are not UTF-8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workflow.errors import DefinitionError, DefinitionIssue

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_INT_DIGITS = 30
"""Integers longer than this are refused: no field needs them, and Python and JSON readers cap
the digits they convert (4,300 by default)."""

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


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, anchors and deep nesting while composing."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent):
            raise _Problem(line, "YAML aliases (*name) are not allowed in definitions")
        if getattr(event, "anchor", None) is not None:
            raise _Problem(line, "YAML anchors (&name) are not allowed in definitions")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Problem(line, f"nesting deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml(source: bytes | str, filename: str) -> tuple[object, Marks]:
    """Parse one YAML document into plain Python values and the marks of its keys."""
    raw = source.encode("utf-8") if isinstance(source, str) else source
    if len(raw) > MAX_BYTES:
        raise _issue(filename, None, f"file is {len(raw):,} bytes; the limit is {MAX_BYTES:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _issue(filename, line, f"not valid UTF-8 (byte {exc.start})") from exc
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as exc:
        # The reader refuses control characters up front, before the loader exists.
        line = text[: exc.position].count("\n") + 1
        message = f"character {chr(exc.character)!r} is not allowed in YAML"
        raise _issue(filename, line, message) from None
    marks = Marks()
    try:
        node = loader.get_single_node()
        if node is None:
            raise _Problem(1, "the file is empty")
        return _to_python(loader, node, (), marks), marks
    except _Problem as problem:
        raise _issue(filename, problem.line, problem.message, problem.key) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or exc}"
        raise _issue(filename, mark.line + 1 if mark else None, message) from None
    except yaml.YAMLError as exc:
        raise _issue(filename, None, f"YAML error: {exc}") from None
    except RecursionError:
        raise _issue(filename, None, "nesting too deep") from None
    finally:
        loader.dispose()


def _to_python(loader: _StrictLoader, node: Node, path: Path, marks: Marks) -> object:
    marks.lines.setdefault(path, node.start_mark.line + 1)
    line = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        if node.tag != "tag:yaml.org,2002:map":
            raise _Problem(line, f"tag {node.tag} is not allowed", _dotted(path))
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                raise _Problem(key_node.start_mark.line + 1, "mapping keys must be plain text")
            key = str(key_node.value)
            key_line = key_node.start_mark.line + 1
            if key in result:
                first = marks.lines.get((*path, key))
                raise _Problem(
                    key_line,
                    f"duplicate key {key!r} (first at line {first})",
                    _dotted((*path, key)),
                )
            marks.lines[(*path, key)] = key_line
            result[key] = _to_python(loader, value_node, (*path, key), marks)
        return result
    if isinstance(node, SequenceNode):
        if node.tag != "tag:yaml.org,2002:seq":
            raise _Problem(line, f"tag {node.tag} is not allowed", _dotted(path))
        return [_to_python(loader, item, (*path, i), marks) for i, item in enumerate(node.value)]
    if isinstance(node, ScalarNode):
        if node.tag not in _SCALAR_TAGS:
            raise _Problem(line, f"tag {node.tag} is not allowed", _dotted(path))
        if node.tag == "tag:yaml.org,2002:timestamp":
            return str(node.value)
        return _scalar(loader, node, path)
    raise _Problem(line, "unsupported YAML node")


def _scalar(loader: _StrictLoader, node: ScalarNode, path: Path) -> object:
    """A plain scalar, refused when it is no JSON value (``.nan``, ``.inf``, 5,000 digits)."""
    line = node.start_mark.line + 1
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
