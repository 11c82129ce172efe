"""Templates to HTML: the Jinja2 environment (autoescaped) and what every page is given.

Every value a template prints is escaped unless it is :class:`~markupsafe.Markup` built by the
console itself (the diagrams, whose every text went through ``escape``). Times are shown in the
console's zone; words in the viewer's language (:mod:`._text`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ._access import Viewer
from ._pages import TimelineEntry
from ._text import STATUS_LABELS, translator

HERE = Path(__file__).resolve().parent


def templates() -> Environment:
    """The console's Jinja2 environment: autoescaped, templates from the package."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda name: f"/static/{name}"
    return env


def shown(value: Any) -> str:
    """A payload or data value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def payload_list(values: Mapping[str, Any]) -> str:
    """A payload as an escaped ``<ul>`` of ``name: value`` (empty for no payload)."""
    if not values:
        return ""
    items = "".join(
        f"<li><code>{escape(name)}</code>: {escape(shown(value))}</li>"
        for name, value in values.items()
    )
    return f'<ul class="payload">{items}</ul>'


def timeline_rows(entries: Sequence[TimelineEntry], when: Callable[[datetime], str]) -> Markup:
    """The timeline's table rows, built here rather than in the template: an item page with a
    thousand events renders in a fraction of Jinja's time (bench/web.py). Every value escaped."""
    rows = []
    for entry in entries:
        event = entry.event
        who = escape(event.actor)
        if entry.who:
            who += Markup('<br><span class="muted">') + escape(entry.who) + Markup("</span>")
        rows.append(
            f"<tr><td>{escape(when(event.occurred_at))}</td><td>{who}</td>"
            f"<td>{escape(', '.join(event.actor_roles))}</td>"
            f"<td>{escape(entry.workflow)}: {escape(event.trigger or event.kind)}</td>"
            f"<td>{escape(entry.from_state or '∅')} → {escape(entry.to_state)}</td>"
            f"<td>{escape(event.reason or '')}</td><td>{payload_list(event.payload)}</td></tr>"
        )
    return Markup("".join(rows))  # noqa: S704 - every value above went through escape()


class Renderer:
    """Renders the console's templates with the helpers every page uses."""

    def __init__(self, zone: tzinfo) -> None:
        self.env = templates()
        self.zone = zone

    def when(self, moment: datetime, lang: str) -> str:
        local = moment.astimezone(self.zone)
        return local.strftime("%d/%m/%Y %H:%M" if lang == "vi" else "%Y-%m-%d %H:%M")

    def render(
        self, template: str, lang: str, viewer: Viewer | None, csrf: str, **values: Any
    ) -> str:
        _ = translator(lang)

        def delay(span: timedelta | None) -> str:
            if span is None:
                return ""
            hours = int(span.total_seconds() // 3600)
            days, hours = divmod(hours, 24)
            return f"{days} " + _("d") + f" {hours:02d} " + _("h")

        context = {
            "_": _,
            "lang": lang,
            "viewer": viewer,
            "flashes": values.pop("flashes", []),
            "csrf_field": lambda: Markup('<input type="hidden" name="csrf" value="{}">').format(
                csrf
            ),
            "when": lambda moment: self.when(moment, lang),
            "delay": delay,
            "status_label": lambda key: _(STATUS_LABELS.get(str(key), str(key))),
            "timeline_rows": lambda entries: timeline_rows(entries, lambda m: self.when(m, lang)),
            "payload_list": lambda values: Markup(payload_list(values)),  # noqa: S704 - escaped
            **values,
        }
        return self.env.get_template(template).render(context)
