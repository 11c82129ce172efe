"""The console's request pipeline: language, session and viewer, CSRF, headers, errors as pages.

Every request passes here before its handler (:mod:`._login`, :mod:`._work`, :mod:`._auditors`)
runs: :meth:`Console.page` sends anyone not logged in to the login page, :meth:`Console.form`
refuses a form from another site or without the session's CSRF token, and both turn a refusal
into a page in the viewer's language. The viewer is re-read from the database on every request.
Kept apart from the handlers so the checks every page relies on are read in one place. The
engine is called in Starlette's thread pool (it blocks on the database).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from workflow import Engine, WorkflowError
from workflow.accounts import NotAuthenticated, Sight, principal_for_user
from workflow.service import ServiceContext, status_for

from . import _records
from ._access import Viewer
from ._render import Renderer
from ._session import COOKIE, Session, Sessions, console_secret, same_token
from ._text import translator

LOG = structlog.get_logger("workflow.web")
LANG_COOKIE = "wf_lang"
DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
DOWNLOAD_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "jsonl": "application/x-ndjson",
}


class Refusal(Exception):
    """A page refused by the console's own rules (an auditor firing, a right the viewer lacks),
    with the status and the message in the viewer's language."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Call:
    """One request as the handlers see it: the language, the session and (when logged in) the
    viewer; ``cookies`` are the ``Set-Cookie`` values the response will carry."""

    request: Request
    lang: str
    session: Session
    viewer: Viewer | None
    cookies: list[str]


PageHandler = Callable[["Console", Call], Response]
"""A GET handler: the console and the request, to the response (:meth:`Console.page`)."""
FormHandler = Callable[["Console", Call, Mapping[str, str]], Response]
"""A POST handler: the console, the request and its form's fields (:meth:`Console.form`)."""


class Console:
    """The console over one engine: its templates, sessions and verification jobs."""

    def __init__(
        self,
        engine: Engine,
        context: ServiceContext,
        *,
        sessions: Sessions | None = None,
        zone: str = DEFAULT_ZONE,
    ) -> None:
        self.engine = engine
        self.context = context
        self.renderer = Renderer(ZoneInfo(zone))
        self.sessions = sessions or Sessions(
            console_secret(), secure=context.options.secure_cookies
        )
        self.zone = ZoneInfo(zone)
        self.jobs = _records.VerifyJobs()

    def _call(self, request: Request) -> Call:
        cookies: list[str] = []
        asked = request.query_params.get("lang")
        lang = asked if asked in ("vi", "en") else request.cookies.get(LANG_COOKIE, "vi")
        if lang not in ("vi", "en"):
            lang = "vi"
        if asked in ("vi", "en"):
            cookies.append(f"{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax")
        session = self.sessions.read(request.cookies.get(COOKIE))
        viewer = None
        if session is not None and session.account is not None:
            try:
                principal = principal_for_user(self.engine, session.account, channel="web")
            except NotAuthenticated:
                session = None
            else:
                actor = principal.actor
                viewer = Viewer(
                    actor,
                    principal.account,
                    principal.display_name,
                    Sight(self.engine, actor),
                )
        if session is None:
            session = self.sessions.new(None)
        session = self.sessions.touched(session)
        cookies.append(self.sessions.cookie_header(session))
        return Call(request, lang, session, viewer, cookies)

    def render(self, call: Call, template: str, status: int = 200, **values: Any) -> Response:
        html = self.renderer.render(template, call.lang, call.viewer, call.session.csrf, **values)
        return self.finish(call, HTMLResponse(html, status_code=status))

    def finish(self, call: Call, response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        for cookie in call.cookies:
            response.headers.append("set-cookie", cookie)
        return response

    def _error(self, call: Call, exc: Exception) -> Response:
        _ = translator(call.lang)
        if isinstance(exc, Refusal):
            status, message = exc.status, exc.message
        elif isinstance(exc, WorkflowError):
            status = status_for(exc)
            message = str(exc)
        else:
            status, message = 500, _("internal error")
        if status == 404:
            message = _("There is no such page, or it is not yours to see.")
        heading = {403: _("Not allowed"), 404: _("Not found")}.get(status, _("Refused"))
        return self.render(call, "error.html", status, heading=heading, message=message)

    def page(
        self, handler: PageHandler, *, login: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        """A GET endpoint: the viewer is required (else the login page), errors are pages."""

        async def endpoint(request: Request) -> Response:
            call = await run_in_threadpool(self._call, request)
            if login and call.viewer is None:
                target = quote(
                    request.url.path + (f"?{request.url.query}" if request.url.query else "")
                )
                return self.finish(call, RedirectResponse(f"/login?next={target}", 303))
            return await self._handled(call, "page", partial(handler, self, call))

        return endpoint

    def form(
        self,
        handler: FormHandler,
        *,
        login: bool = True,
    ) -> Callable[[Request], Awaitable[Response]]:
        """A POST endpoint: same origin, the session's CSRF token, then the handler."""

        async def endpoint(request: Request) -> Response:
            form = await request.form()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            call = await run_in_threadpool(self._call, request)
            _ = translator(call.lang)
            origin = request.headers.get("origin")
            if origin is not None and urlsplit(origin).netloc != request.url.netloc:
                return self._refuse(call, _("The form came from another site."))
            if not same_token(fields.get("csrf"), call.session.csrf):
                return self._refuse(
                    call, _("The form has expired or lacks its security token: reload the page.")
                )
            if login and call.viewer is None:
                return self.finish(call, RedirectResponse("/login", 303))
            return await self._handled(call, "form", partial(handler, self, call, fields))

        return endpoint

    async def _handled(self, call: Call, kind: str, handler: Callable[[], Response]) -> Response:
        """``handler()`` in a worker thread; a refusal is an error page, and so is a bug (its
        traceback in the log, as "console page failed" or "console form failed")."""
        try:
            return await run_in_threadpool(handler)
        except (WorkflowError, Refusal) as exc:
            return self._error(call, exc)
        except Exception as exc:  # a bug: a page saying so, the traceback in the log
            LOG.exception(f"console {kind} failed", path=call.request.url.path)
            return self._error(call, exc)

    def _refuse(self, call: Call, message: str) -> Response:
        _ = translator(call.lang)
        return self.render(call, "error.html", 403, heading=_("Not allowed"), message=message)


def is_partial(call: Call) -> bool:
    """Asked by the console's script (static/console.js) for a fragment, not the whole page."""
    return call.request.headers.get("x-partial") == "1"


def viewer_of(call: Call) -> Viewer:
    assert call.viewer is not None  # the page() wrapper sent anyone else to the login page
    return call.viewer


def as_int(text: str | None, default: int) -> int:
    try:
        value = int(text) if text else default
    except ValueError:
        return default
    return value if 0 <= value < 2**31 else default
