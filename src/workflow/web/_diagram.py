"""A definition's diagram drawn as SVG in Python, with an instance's state and path highlighted.

The console draws its own diagrams so that nothing leaves the server (no Mermaid website, no
JavaScript renderer) and nothing needs installing (Graphviz is optional for the CLI's ``svg``).
The layout is a left-to-right layering: each state's column is its distance from the initial
state along the transitions (breadth first), states keep their declaration order within a
column; forward edges are curves between columns, edges going back bend below the states, and
a transition that stays in its state is a loop above it. Colours and line styles come from the
stylesheet through class names (``state current``, ``edge taken``): the SVG carries no
``style`` attribute, so the content security policy needs no ``unsafe-inline``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from workflow import Definition
from workflow.auditing import Highlight

Edge = tuple[str, str, str]
"""(source state, trigger, destination state), as :class:`~workflow.auditing.Highlight` counts."""

CHAR_WIDTH = 7.2  # px per character at the diagram's 12px font, a generous average
NODE_HEIGHT = 46
ROW_GAP = 34
MIN_COLUMN_GAP = 70
MARGIN = 24
LOOP_HEIGHT = 26
BACK_BEND = 30


@dataclass(frozen=True)
class _Box:
    name: str
    title: str
    x: float
    y: float
    width: float


def _edges(definition: Definition) -> list[Edge]:
    return list(
        dict.fromkeys((s, t.trigger, t.dest) for t in definition.transitions for s in t.sources)
    )


def _ranks(definition: Definition, edges: Sequence[Edge]) -> dict[str, int]:
    """Breadth-first distance from the initial state; unreachable states after the last."""
    rank = {definition.initial_state.name: 0}
    frontier = [definition.initial_state.name]
    while frontier:
        following: list[str] = []
        for state in frontier:
            for source, _, dest in edges:
                if source == state and dest not in rank:
                    rank[dest] = rank[state] + 1
                    following.append(dest)
        frontier = following
    last = max(rank.values()) + 1
    return {s.name: rank.get(s.name, last) for s in definition.states}


def _text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def _title(definition: Definition, name: str, lang: str) -> str:
    labels = definition.state(name).labels
    if labels is None:
        return ""
    label = labels.en if lang == "en" else labels.vi
    return "" if label == name else label


def render_svg(
    definition: Definition, path: Highlight | None = None, *, lang: str = "vi", ident: str = "d"
) -> Markup:
    """The diagram as an inline ``<svg>`` element; ``ident`` keeps its marker ids unique."""
    path = path or Highlight()
    edges = _edges(definition)
    ranks = _ranks(definition, edges)
    columns: dict[int, list[str]] = {}
    for state in definition.states:
        columns.setdefault(ranks[state.name], []).append(state.name)
    titles = {s.name: _title(definition, s.name, lang) for s in definition.states}
    widths = {
        name: max(_text_width(name), _text_width(titles[name])) + 24
        for name in definition.state_names
    }
    # the gap after each column fits the longest label of the edges leaving it forwards
    gaps: dict[int, float] = {}
    for source, trigger, dest in edges:
        if ranks[dest] > ranks[source]:
            need = _text_width(_edge_label(trigger, path.taken.get((source, trigger, dest), 0)))
            gaps[ranks[source]] = max(gaps.get(ranks[source], 0), need + 24)
    boxes: dict[str, _Box] = {}
    x = float(MARGIN)
    top = MARGIN + LOOP_HEIGHT + 14
    for column in sorted(columns):
        width = max(widths[name] for name in columns[column])
        for row, name in enumerate(columns[column]):
            y = top + row * (NODE_HEIGHT + ROW_GAP)
            boxes[name] = _Box(name, titles[name], x, y, width)
        x += width + max(MIN_COLUMN_GAP, gaps.get(column, 0))
    height = top + max(len(c) for c in columns.values()) * (NODE_HEIGHT + ROW_GAP) + BACK_BEND
    width = x - max(MIN_COLUMN_GAP, gaps.get(max(columns), 0)) + MARGIN

    parts: list[str] = []
    label = escape(
        f"{definition.name}: {definition.labels.en if lang == 'en' else definition.labels.vi}"
    )
    parts.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" role="img" '
        f'aria-labelledby="{ident}-title" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}">'
        f'<title id="{ident}-title">{label}</title>'
        f"<defs>{_marker(ident, 'arrow')}{_marker(ident, 'arrow-taken')}</defs>"
    )
    initial = boxes[definition.initial_state.name]
    parts.append(
        f'<circle class="start" cx="{initial.x - 14:.1f}" cy="{initial.y + NODE_HEIGHT / 2:.1f}" '
        f'r="5"/>'
    )
    seen_pairs: Counter[tuple[str, str]] = Counter()
    for source, trigger, dest in edges:
        count = path.taken.get((source, trigger, dest), 0)
        nth = seen_pairs[(source, dest)]
        seen_pairs[(source, dest)] += 1
        parts.append(_edge(boxes[source], boxes[dest], trigger, count, nth, ident))
    for state in definition.states:
        parts.append(_node(boxes[state.name], state.final, state.name, path))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every name and label went through escape()


def _marker(ident: str, kind: str) -> str:
    return (
        f'<marker id="{ident}-{kind}" class="{kind}" viewBox="0 0 10 10" refX="9" refY="5" '
        f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M 0 0 L 10 5 L 0 10 z"/></marker>'
    )


def _edge_label(trigger: str, count: int) -> str:
    return trigger + (f" \u00d7{count}" if count > 1 else "")


def _edge(a: _Box, b: _Box, trigger: str, count: int, nth: int, ident: str) -> str:
    mid_a = a.y + NODE_HEIGHT / 2
    mid_b = b.y + NODE_HEIGHT / 2
    if a.name == b.name:  # a loop above the state, one per trigger, nested
        lift = LOOP_HEIGHT + nth * 12
        x1, x2 = a.x + a.width * 0.35, a.x + a.width * 0.65
        top = a.y - lift
        d = f"M {x1:.1f} {a.y:.1f} C {x1:.1f} {top:.1f}, {x2:.1f} {top:.1f}, {x2:.1f} {a.y:.1f}"
        lx, ly = a.x + a.width / 2, top
    elif b.x > a.x:  # forwards: right side to left side
        x1, x2 = a.x + a.width, b.x
        bend = nth * 16
        d = (
            f"M {x1:.1f} {mid_a:.1f} C {x1 + 40:.1f} {mid_a + bend:.1f}, "
            f"{x2 - 40:.1f} {mid_b + bend:.1f}, {x2:.1f} {mid_b:.1f}"
        )
        lx, ly = (x1 + x2) / 2, (mid_a + mid_b) / 2 + bend - 5
    else:  # backwards or within a column: under the states
        below = max(a.y, b.y) + NODE_HEIGHT + BACK_BEND * 0.6 + nth * 12
        x1, x2 = a.x + a.width / 2, b.x + b.width / 2
        d = (
            f"M {x1:.1f} {a.y + NODE_HEIGHT:.1f} C {x1:.1f} {below:.1f}, "
            f"{x2:.1f} {below:.1f}, {x2:.1f} {b.y + NODE_HEIGHT:.1f}"
        )
        lx, ly = (x1 + x2) / 2, below - 2
    kind = "edge taken" if count else "edge"
    marker = "arrow-taken" if count else "arrow"
    text = escape(_edge_label(trigger, count))
    return (
        f'<g class="{kind}"><path d="{d}" fill="none" marker-end="url(#{ident}-{marker})"/>'
        f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle">{text}</text></g>'
    )


def _node(box: _Box, final: bool, name: str, path: Highlight) -> str:
    classes = ["state"]
    if final:
        classes.append("final")
    if name == path.current:
        classes.append("current")
    elif name in path.visited:
        classes.append("visited")
    rect = (
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{NODE_HEIGHT}" '
        f'rx="8"/>'
    )
    if final:  # a double border, as in UML
        rect += (
            f'<rect class="inner" x="{box.x + 3:.1f}" y="{box.y + 3:.1f}" '
            f'width="{box.width - 6:.1f}" height="{NODE_HEIGHT - 6}" rx="6"/>'
        )
    cx = box.x + box.width / 2
    lines = (
        f'<text class="name" x="{cx:.1f}" y="{box.y + (19 if box.title else 28):.1f}" '
        f'text-anchor="middle">{escape(name)}</text>'
    )
    if box.title:
        lines += (
            f'<text class="label" x="{cx:.1f}" y="{box.y + 35:.1f}" text-anchor="middle">'
            f"{escape(box.title)}</text>"
        )
    current = ' aria-current="step"' if name == path.current else ""
    return f'<g class="{" ".join(classes)}"{current}>{rect}{lines}</g>'
