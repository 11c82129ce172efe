"""The console's application: its routes, each URL bound to its handler and its checks.

Every GET is a :meth:`~._console.Console.page` (the viewer is required, else the login page)
and every POST a :meth:`~._console.Console.form` (same origin and the session's CSRF token
first); only the login and logout run without a viewer. The handlers live by area: logging in
(:mod:`._login`), the pages of the people who act (:mod:`._work`), the auditors' pages
(:mod:`._auditors`). One table here so every URL and the check before it read together.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from workflow.service import ServiceContext

from . import _auditors, _login, _work
from ._console import Console

HERE = Path(__file__).resolve().parent


def routes(context: ServiceContext) -> list[BaseRoute]:
    """The console's routes for the service's app (``workflow serve``); see the contract in
    docs/web.md."""
    console = Console(context.engine, context)
    page, form = console.page, console.form
    return [
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        Route("/login", page(_login.login_page, login=False), methods=["GET"]),
        Route("/login", form(_login.login, login=False), methods=["POST"]),
        Route("/logout", form(_login.logout, login=False), methods=["POST"]),
        Route("/", page(_work.home), methods=["GET"]),
        Route("/directives", page(_work.directives), methods=["GET"]),
        Route(
            "/directives/{number:path}/report.{fmt}",
            page(_work.report_download),
            methods=["GET"],
        ),
        Route("/directives/{number:path}", page(_work.dashboard), methods=["GET"]),
        Route("/instances/{instance_id}", page(_work.item), methods=["GET"]),
        Route("/instances/{instance_id}/at", page(_work.item_at), methods=["GET"]),
        Route("/instances/{instance_id}/fire", form(_work.fire), methods=["POST"]),
        Route("/audit", page(_auditors.audit), methods=["GET"]),
        Route("/audit/verify", form(_auditors.verify_start), methods=["POST"]),
        Route("/audit/verify/{job}", page(_auditors.verify_poll), methods=["GET"]),
        Route("/audit/{what}", page(_auditors.download), methods=["GET"]),
        Route("/definitions", page(_auditors.definitions), methods=["GET"]),
        Route("/definitions/{name}", page(_auditors.definition), methods=["GET"]),
    ]

