"""Diagrams of a definition (Mermaid, Graphviz DOT, SVG) and of an instance's path through it.

Mermaid and DOT are text and need nothing installed. SVG is drawn by Graphviz's ``dot`` program
when it is on the ``PATH``; without it :func:`to_svg` says how to install it.
An instance's diagram highlights its current state and the transitions it took, read from its
audit log (each edge taken is labelled with how many times).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from workflow.definition import model as m
from workflow.errors import InvalidInput
from workflow.records import AuditEvent

GraphFormat = Literal["mermaid", "dot", "svg"]
GRAPH_FORMATS: tuple[GraphFormat, ...] = ("mermaid", "dot", "svg")
SVG_TIMEOUT_SECONDS = 60
GRAPHVIZ_HELP = (
    "SVG output needs Graphviz's `dot` program, which is not on the PATH: install Graphviz "
    "(Debian/Ubuntu: apt install graphviz; macOS: brew install graphviz; Windows: "
    "winget install graphviz), or ask for the mermaid or dot format, which need nothing"
)

Edge = tuple[str, str, str]
"""(source state, trigger, destination state)."""


@dataclass(frozen=True)
class Highlight:
    """What to emphasise: the current state and the edges taken (with their counts)."""

    current: str | None = None
    taken: Counter[Edge] = field(default_factory=Counter)

    @property
    def visited(self) -> frozenset[str]:
        states = {s for edge in self.taken for s in (edge[0], edge[2])}
        return frozenset(states | ({self.current} if self.current else set()))


def path_of(events: Iterable[AuditEvent]) -> Highlight:
    """The current state and the transitions taken, from an instance's audit events."""
    taken: Counter[Edge] = Counter()
    current = None
    for event in events:
        if event.from_state is not None:
            taken[(event.from_state, event.trigger or event.kind, event.to_state)] += 1
        current = event.to_state
    return Highlight(current, taken)


def edges(definition: m.Definition) -> list[Edge]:
    """Every (source, trigger, destination) of the definition, in declaration order, once."""
    return list(
        dict.fromkeys((s, t.trigger, t.dest) for t in definition.transitions for s in t.sources)
    )


def _label(state: m.StateSpec) -> str:
    if state.labels and state.labels.vi and state.labels.vi != state.name:
        return f"{state.name}\n{state.labels.vi}"
    return state.name


def to_mermaid(definition: m.Definition, highlight: Highlight | None = None) -> str:
    """A Mermaid flowchart (renders on GitHub, GitLab and in most Markdown viewers)."""
    highlight = highlight or Highlight()
    ids = {s.name: f"s{i}" for i, s in enumerate(definition.states)}
    lines = ["flowchart LR", '  start((" ")) --> ' + ids[definition.initial_state.name]]
    for state in definition.states:
        text = _label(state).replace('"', "#quot;").replace("\n", "<br/>")
        shape = f'[["{text}"]]' if state.final else f'("{text}")'
        lines.append(f"  {ids[state.name]}{shape}")
    styled: list[int] = []
    for index, (source, trigger, dest) in enumerate(edges(definition), start=1):
        count = highlight.taken.get((source, trigger, dest), 0)
        label = trigger.replace('"', "#quot;") + (f" x{count}" if count > 1 else "")
        arrow = "==>" if count else "-->"
        lines.append(f'  {ids[source]} {arrow}|"{label}"| {ids[dest]}')
        if count:
            styled.append(index)
    lines.append("  classDef visited fill:#fff3d6,stroke:#b58900")
    lines.append("  classDef current fill:#ffcc66,stroke:#d62728,stroke-width:3px")
    visited = sorted(ids[s] for s in highlight.visited - {highlight.current} if s in ids)
    if visited:
        lines.append(f"  class {','.join(visited)} visited")
    if highlight.current in ids:
        lines.append(f"  class {ids[highlight.current]} current")
    if styled:
        # link 0 is the start arrow; edges follow in order
        lines.append(f"  linkStyle {','.join(map(str, styled))} stroke:#d62728,stroke-width:3px")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(definition: m.Definition, highlight: Highlight | None = None) -> str:
    """A Graphviz DOT digraph (``dot -Tsvg`` draws it)."""
    highlight = highlight or Highlight()
    title = f"{definition.name}: {definition.labels.vi}"
    lines = [
        f"digraph {_quote(definition.name)} {{",
        f"  label={_quote(title)}; labelloc=t; rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica"];',
        '  __start [shape=point, width=0.15, label=""];',
        f"  __start -> {_quote(definition.initial_state.name)};",
    ]
    for state in definition.states:
        attrs = [f"label={_quote(_label(state))}"]
        if state.final:
            attrs.append("peripheries=2")
        if state.name == highlight.current:
            attrs.append('style="rounded,filled,bold", fillcolor="#ffcc66", color="#d62728"')
        elif state.name in highlight.visited:
            attrs.append('style="rounded,filled", fillcolor="#fff3d6"')
        lines.append(f"  {_quote(state.name)} [{', '.join(attrs)}];")
    for source, trigger, dest in edges(definition):
        count = highlight.taken.get((source, trigger, dest), 0)
        attrs = [f"label={_quote(trigger + (f' x{count}' if count > 1 else ''))}"]
        if count:
            attrs.append('color="#d62728", penwidth=2.5')
        lines.append(f"  {_quote(source)} -> {_quote(dest)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(dot_text: str) -> str:
    """Draw DOT as SVG with Graphviz; :class:`~workflow.InvalidInput` says how to get it."""
    program = shutil.which("dot")
    if program is None:
        raise InvalidInput(GRAPHVIZ_HELP)
    try:
        # a fixed program found on PATH, fed our own DOT text on stdin: no shell, no user argv
        done = subprocess.run(  # noqa: S603
            [program, "-Tsvg"],
            input=dot_text,
            capture_output=True,
            text=True,
            timeout=SVG_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InvalidInput(f"Graphviz could not draw the diagram: {exc}") from exc
    if done.returncode != 0:
        raise InvalidInput(f"Graphviz could not draw the diagram: {done.stderr.strip()}")
    return done.stdout


def render_graph(definition: m.Definition, fmt: str, highlight: Highlight | None = None) -> str:
    """The diagram in ``fmt`` (one of :data:`GRAPH_FORMATS`)."""
    if fmt == "mermaid":
        return to_mermaid(definition, highlight)
    if fmt == "dot":
        return to_dot(definition, highlight)
    if fmt == "svg":
        return to_svg(to_dot(definition, highlight))
    raise InvalidInput(f"unknown graph format {fmt!r}: use one of {', '.join(GRAPH_FORMATS)}")


def taken_path(highlight: Highlight) -> Sequence[dict[str, object]]:
    """The edges taken as JSON-ready records (for ``--json``)."""
    return [
        {"from": s, "trigger": t, "to": d, "count": n} for (s, t, d), n in highlight.taken.items()
    ]
