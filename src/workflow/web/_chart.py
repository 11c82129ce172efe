"""The dashboard's chart of progress over time: items done, cumulated, against the deadline.

Drawn as SVG on the server from the report's rows (each done item's completion time), so the
page needs no charting library; colours come from the stylesheet by class name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from markupsafe import Markup, escape

from workflow.directives import ItemStatus

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 28, 36


def progress_chart(rows: Sequence[ItemStatus], now: datetime, lang: str, zone: tzinfo) -> Markup:
    """A step line of the items done by each moment, out of every item shown."""
    total = len(rows)
    done = sorted(r.completed_at for r in rows if r.completed_at is not None)
    deadlines = sorted({r.due_at for r in rows if r.due_at is not None})
    title = "Items done over time" if lang == "en" else "Số nội dung hoàn thành theo thời gian"
    moments = [*done, *deadlines]
    if total == 0 or not moments:
        empty = "Nothing done yet" if lang == "en" else "Chưa có nội dung hoàn thành"
        return Markup(f'<p class="chart-empty">{escape(empty)}</p>')  # noqa: S704 - escaped
    start, last = min(moments), max(moments)
    # a directive long past: the chart ends a little after its last event, not today
    end = last if now > last + (last - start) / 2 else max(now, last)
    span = max((end - start).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (moment - start).total_seconds() / span

    def y(count: int) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - count / total)

    points = [f"{x(start):.1f},{y(0):.1f}"]
    for count, moment in enumerate(done, start=1):
        points.append(f"{x(moment):.1f},{y(count - 1):.1f}")
        points.append(f"{x(moment):.1f},{y(count):.1f}")
    points.append(f"{x(end):.1f},{y(len(done)):.1f}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-labelledby="chart-title" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}"><title id="chart-title">{escape(title)}: {len(done)}/{total}</title>',
        f'<line class="axis" x1="{LEFT}" y1="{y(0):.1f}" x2="{WIDTH - RIGHT}" y2="{y(0):.1f}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y(0):.1f}"/>',
        f'<line class="total" x1="{LEFT}" y1="{y(total):.1f}" x2="{WIDTH - RIGHT}" '
        f'y2="{y(total):.1f}"/>',
        f'<text class="tick" x="{LEFT - 6}" y="{y(total) + 4:.1f}" '
        f'text-anchor="end">{total}</text>',
        f'<text class="tick" x="{LEFT - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
    ]
    for deadline in deadlines[:5]:
        parts.append(
            f'<line class="deadline" x1="{x(deadline):.1f}" y1="{TOP}" x2="{x(deadline):.1f}" '
            f'y2="{y(0):.1f}"/><text class="tick" x="{x(deadline):.1f}" y="{TOP - 8}" '
            f'text-anchor="middle">{escape(_day(deadline, zone))}</text>'
        )
    parts.append(f'<polyline class="done" fill="none" points="{" ".join(points)}"/>')
    for moment, anchor in ((start, "start"), (end, "end")):
        parts.append(
            f'<text class="tick" x="{x(moment):.1f}" y="{HEIGHT - 12}" '
            f'text-anchor="{anchor}">{escape(_day(moment, zone))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def _day(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%d/%m/%Y")
