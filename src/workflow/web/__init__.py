"""The web console: pages for the people in the offices, served by ``workflow serve``.

Server-rendered (Jinja2 templates, autoescaped), with three small partial updates by the
console's own script (``static/console.js``: it takes no code from the page and every page works
without it); nothing is fetched at run time. The pages read through
the public library API as the authenticated viewer: the inbox of what a person may act on now,
a directive's dashboard, an item's whole chain as one timeline with its diagram and its state at
any past moment, the auditors' verification, downloads and administrators' log, and the
definitions with their versions, differences and diagrams. The service
mounts :func:`routes`; the page-data functions and the SVG diagram are usable on their own.
See docs/web.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow.web._access import Action, Field, Viewer, actions, oversees
from workflow.web._diagram import render_svg
from workflow.web._pages import (
    DashboardPage,
    InboxPage,
    ItemPage,
    chain_of,
    dashboard,
    inbox,
    item_page,
)

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from workflow.service import ServiceContext


def routes(context: ServiceContext) -> list[BaseRoute]:
    """The console's routes, which the service's app factory adds to its own (``workflow
    serve``, docs/web.md); its HTTP side is imported only then."""
    from workflow.web._app import routes as console_routes  # noqa: PLC0415 - serving only

    return console_routes(context)


__all__ = [
    "Action",
    "DashboardPage",
    "Field",
    "InboxPage",
    "ItemPage",
    "Viewer",
    "actions",
    "chain_of",
    "dashboard",
    "inbox",
    "item_page",
    "oversees",
    "render_svg",
    "routes",
]
