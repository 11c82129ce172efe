"""The web console: pages for the people in the offices, served by ``workflow serve``.

Server-rendered (Jinja2 templates, autoescaped), with small interactions through htmx, which is
vendored in ``static/`` with its licence; nothing is fetched at run time. The pages read through
the public library API as the authenticated viewer: the inbox of what a person may act on now,
a directive's dashboard, an item's whole chain as one timeline with its diagram and its state at
any past moment, the auditors' verification, downloads and administrators' log, and the
definitions with their versions, differences and diagrams. The page-data
functions and the SVG diagram are usable on their own.
See docs/web.md.
"""

from __future__ import annotations

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
]
