"""Templates to HTML: the Jinja2 environment (autoescaped) and what every page is given.

Every value a template prints is escaped unless it is :class:`~markupsafe.Markup` built by the
console itself (the diagrams, whose every text went through ``escape``). Times are shown in the
console's zone; words in the viewer's language (:mod:`._text`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ._access import Viewer
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
        say = translator(lang)

        def delay(span: timedelta | None) -> str:
            if span is None:
                return ""
            hours = int(span.total_seconds() // 3600)
            days, hours = divmod(hours, 24)
            return f"{days} {say('d')} {hours:02d} {say('h')}"

        context = {
            "_": say,
            "lang": lang,
            "viewer": viewer,
            "flashes": values.pop("flashes", []),
            "csrf_field": lambda: Markup('<input type="hidden" name="csrf" value="{}">').format(
                csrf
            ),
            "when": lambda moment: self.when(moment, lang),
            "delay": delay,
            "status_label": lambda key: say(STATUS_LABELS.get(str(key), str(key))),
            **values,
        }
        return self.env.get_template(template).render(context)
