"""The console's HTTP side: routes, login, session and CSRF checks, headers, rendering.

Handlers parse the request, ask :mod:`._pages` or :mod:`._records` for the page's data as the
authenticated viewer, and render a template; every page checks the viewer's rights on the
server. The engine is called in Starlette's thread pool (it blocks on the database).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from workflow import (
    Engine,
    NotFound,
    WorkflowError,
    parse_instant,
)
from workflow.accounts import (
    LoginThrottled,
    NotAuthenticated,
    Sight,
    check_password,
    principal_for_user,
)
from workflow.directives import (
    directive_report,
    get_directive,
    render_csv,
    render_markdown,
    report_json,
)
from workflow.service import ServiceContext, status_for

from . import _pages, _records
from ._access import Viewer, actions, oversees
from ._forms import payload_from_form
from ._render import Renderer
from ._session import COOKIE, Session, Sessions, console_secret, same_token
from ._text import translator

HERE = Path(__file__).resolve().parent
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

    # --- the request pipeline -------------------------------------------------------------------

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
        return self._finish(call, HTMLResponse(html, status_code=status))

    def _finish(self, call: Call, response: Response) -> Response:
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
        self, handler: Callable[[Call], Response], *, login: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        """A GET endpoint: the viewer is required (else the login page), errors are pages."""

        async def endpoint(request: Request) -> Response:
            call = await run_in_threadpool(self._call, request)
            if login and call.viewer is None:
                target = quote(
                    request.url.path + (f"?{request.url.query}" if request.url.query else "")
                )
                return self._finish(call, RedirectResponse(f"/login?next={target}", 303))
            try:
                return await run_in_threadpool(handler, call)
            except (WorkflowError, Refusal) as exc:
                return self._error(call, exc)
            except Exception as exc:  # a bug: a page saying so, the traceback in the log
                LOG.exception("console page failed", path=request.url.path)
                return self._error(call, exc)

        return endpoint

    def form(
        self,
        handler: Callable[[Call, Mapping[str, str]], Response],
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
                return self._finish(call, RedirectResponse("/login", 303))
            try:
                return await run_in_threadpool(handler, call, fields)
            except (WorkflowError, Refusal) as exc:
                return self._error(call, exc)
            except Exception as exc:  # a bug: a page saying so, the traceback in the log
                LOG.exception("console form failed", path=request.url.path)
                return self._error(call, exc)

        return endpoint

    def _refuse(self, call: Call, message: str) -> Response:
        _ = translator(call.lang)
        return self.render(call, "error.html", 403, heading=_("Not allowed"), message=message)

    # --- login ------------------------------------------------------------------------------------

    def login_page(self, call: Call) -> Response:
        if call.viewer is not None:
            return self._finish(
                call, RedirectResponse(_safe_next(call.request.query_params.get("next")), 303)
            )
        return self.render(
            call, "login.html", next=_safe_next(call.request.query_params.get("next")), name=""
        )

    def login(self, call: Call, form: Mapping[str, str]) -> Response:
        _ = translator(call.lang)
        name = form.get("name", "").strip()
        client = call.request.client.host if call.request.client else "unknown"
        try:
            principal = check_password(
                self.engine,
                name,
                form.get("password", ""),
                client=client,
                throttle=self.context.throttle,
                channel="web",
            )
        except LoginThrottled as exc:
            message = _("Too many failed attempts: try again in {seconds} seconds.").format(
                seconds=int(exc.retry_after)
            )
            return self.render(
                call,
                "login.html",
                429,
                flashes=[("error", message)],
                next=form.get("next", "/"),
                name=name,
            )
        except NotAuthenticated:
            return self.render(
                call,
                "login.html",
                401,
                flashes=[("error", _("Wrong account or password."))],
                next=_safe_next(form.get("next")),
                name=name,
            )
        # a new session (a new CSRF token) at login: a token seen before it is worth nothing
        session = self.sessions.new(principal.account.removeprefix("user:"))
        call.cookies[-1] = self.sessions.cookie_header(session)
        return self._finish(call, RedirectResponse(_safe_next(form.get("next")), 303))

    def logout(self, call: Call, form: Mapping[str, str]) -> Response:
        call.cookies[-1] = self.sessions.cookie_header(None)
        return self._finish(call, RedirectResponse("/login", 303))

    # --- pages ---------------------------------------------------------------------------------

    def home(self, call: Call) -> Response:
        viewer = _viewer(call)
        if not viewer.may_act:
            return self._finish(call, RedirectResponse("/directives", 303))
        data = _pages.inbox(self.engine, viewer, call.lang)
        return self.render(call, "inbox.html", data=data, page="inbox")

    def directives(self, call: Call) -> Response:
        data = _pages.directives(self.engine, _viewer(call))
        return self.render(call, "directives.html", data=data, page="directives")

    def dashboard(self, call: Call) -> Response:
        params = call.request.query_params
        number = call.request.path_params["number"]
        data = _pages.dashboard(
            self.engine,
            _viewer(call),
            number,
            call.lang,
            zone=self.zone,
            unit=params.get("unit") or None,
            item=params.get("item") or None,
            status=params.get("status") or None,
            page=_int(params.get("page"), 1),
        )
        return self.render(call, "dashboard.html", data=data, page="directives")

    def report_download(self, call: Call) -> Response:
        viewer = _viewer(call)
        number = call.request.path_params["number"]
        fmt = call.request.path_params["fmt"]
        if fmt not in ("csv", "json", "md"):
            raise NotFound("report format", fmt)
        directive = get_directive(self.engine, number)
        if not oversees(viewer, directive):
            _ = translator(call.lang)
            raise Refusal(403, _("Only the directive's overseers export its report."))
        report = directive_report(self.engine, number)
        if fmt == "csv":
            body = render_csv(report)
        elif fmt == "json":
            body = json.dumps(report_json(report), ensure_ascii=False, indent=1)
        else:
            body = render_markdown(report)
        name = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in number)
        response = Response(body, media_type=DOWNLOAD_TYPES[fmt])
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        return self._finish(call, response)

    def item(self, call: Call) -> Response:
        return self._item(call, full=True)

    def item_at(self, call: Call) -> Response:
        return self._item(call, full=not _partial(call))

    def _item(
        self,
        call: Call,
        *,
        full: bool,
        status: int = 200,
        flashes: list[tuple[str, str]] | None = None,
        values: Mapping[str, str] | None = None,
        open_action: str | None = None,
    ) -> Response:
        params = call.request.query_params
        instance_id = _row_id(call.request.path_params["instance_id"])
        flashes = list(flashes or [])
        if params.get("done"):
            _ = translator(call.lang)
            flashes.append(("ok", _("Done: {action}.").format(action=params["done"][:200])))
        at = None
        if params.get("at"):
            at = _local_instant(params["at"], self.zone)
        data = _pages.item_page(
            self.engine,
            _viewer(call),
            instance_id,
            call.lang,
            at_step=_int(params.get("step"), 0) or None,
            at=at,
        )
        moment = _pages.snapshot_moment(data) if at is None else at
        at_value = moment.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M") if moment else ""
        template = "item.html" if full else "_at.html"
        return self.render(
            call,
            template,
            status,
            data=data,
            at_moment=moment,
            at_value=at_value,
            flashes=flashes,
            values=values,
            open_action=open_action or params.get("action"),
        )

    def fire(self, call: Call, form: Mapping[str, str]) -> Response:
        viewer = _viewer(call)
        _ = translator(call.lang)
        instance_id = _row_id(call.request.path_params["instance_id"])
        instance = _pages.visible_instance(self.engine, viewer, instance_id)
        if viewer.auditor:
            raise Refusal(403, _("Auditors read every page and fire nothing."))
        trigger = form.get("trigger", "")
        action = next(
            (a for a in actions(self.engine, viewer, instance, call.lang) if a.trigger == trigger),
            None,
        )
        if action is None:
            raise Refusal(403, _("You may not do this on this item now."))
        try:
            payload = payload_from_form(action, form, self.zone, _)
            self.engine.fire(
                instance.id,
                trigger,
                viewer.actor,
                payload=payload,
                reason=form.get("reason") or None,
                expected_version=_int(form.get("expected_version"), instance.version),
                channel="web",
            )
        except WorkflowError as exc:
            status = status_for(exc)
            if status >= 500:
                raise
            return self._item(
                call,
                full=True,
                status=status,
                flashes=[("error", _("Refused") + f": {exc}")],
                values=form,
                open_action=trigger,
            )
        done = quote(action.label)
        return self._finish(call, RedirectResponse(f"/instances/{instance.id}?done={done}", 303))

    def audit(self, call: Call) -> Response:
        _auditing(call)
        job = None
        if call.request.query_params.get("job"):
            job = self.jobs.get(call.request.query_params["job"])
        return self.render(
            call,
            "audit.html",
            page="audit",
            job=job,
            problems=self._problems(job, call.lang),
            signed=self.engine.audit_keys is not None,
            admin_events=_records.recent_admin_events(self.engine),
            recent=_records.recent_events(self.engine),
        )

    def verify_start(self, call: Call, form: Mapping[str, str]) -> Response:
        viewer = _auditing(call)
        job = self.jobs.start(self.engine, viewer.account)
        if _partial(call):
            return self.render(call, "_verify.html", job=job, problems=[])
        return self._finish(call, RedirectResponse(f"/audit?job={job.id}", 303))

    def verify_poll(self, call: Call) -> Response:
        _auditing(call)
        job = self.jobs.get(call.request.path_params["job"])
        return self.render(call, "_verify.html", job=job, problems=self._problems(job, call.lang))

    def _problems(self, job: _records.VerifyJob | None, lang: str) -> list[_records.NamedProblem]:
        if job is None or job.report is None:
            return []
        return _records.named_problems(self.engine, job.report, lang)

    def download(self, call: Call) -> Response:
        _auditing(call)
        what = call.request.path_params["what"]
        stamp = self.engine.now().strftime("%Y%m%dT%H%M%SZ")
        streams: dict[str, Callable[[], Iterator[bytes]]] = {
            "checkpoint.json": lambda: _records.checkpoint_stream(self.engine),
            "export.jsonl": lambda: _records.export_stream(self.engine, "jsonl"),
            "export.csv": lambda: _records.export_stream(self.engine, "csv"),
        }
        if what not in streams:
            raise NotFound("download", what)
        stem, ext = what.split(".")
        response = StreamingResponse(streams[what](), media_type=DOWNLOAD_TYPES[ext])
        response.headers["Content-Disposition"] = (
            f'attachment; filename="audit-{stem}-{stamp}.{ext}"'
        )
        return self._finish(call, response)

    def definitions(self, call: Call) -> Response:
        _auditing(call)
        return self.render(
            call,
            "definitions.html",
            page="definitions",
            data=_records.definitions(self.engine, call.lang),
        )

    def definition(self, call: Call) -> Response:
        _auditing(call)
        params = call.request.query_params
        data = _records.definition_page(
            self.engine,
            call.request.path_params["name"],
            call.lang,
            version=_int(params.get("version"), 0) or None,
            against=_int(params.get("against"), 0) or None,
        )
        return self.render(call, "definition.html", page="definitions", data=data)

    # --- the routes -----------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        page, form = self.page, self.form
        return [
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
            Route("/login", page(self.login_page, login=False), methods=["GET"]),
            Route("/login", form(self.login, login=False), methods=["POST"]),
            Route("/logout", form(self.logout, login=False), methods=["POST"]),
            Route("/", page(self.home), methods=["GET"]),
            Route("/directives", page(self.directives), methods=["GET"]),
            Route(
                "/directives/{number:path}/report.{fmt}",
                page(self.report_download),
                methods=["GET"],
            ),
            Route("/directives/{number:path}", page(self.dashboard), methods=["GET"]),
            Route("/instances/{instance_id}", page(self.item), methods=["GET"]),
            Route("/instances/{instance_id}/at", page(self.item_at), methods=["GET"]),
            Route("/instances/{instance_id}/fire", form(self.fire), methods=["POST"]),
            Route("/audit", page(self.audit), methods=["GET"]),
            Route("/audit/verify", form(self.verify_start), methods=["POST"]),
            Route("/audit/verify/{job}", page(self.verify_poll), methods=["GET"]),
            Route("/audit/{what}", page(self.download), methods=["GET"]),
            Route("/definitions", page(self.definitions), methods=["GET"]),
            Route("/definitions/{name}", page(self.definition), methods=["GET"]),
        ]


def routes(context: ServiceContext) -> list[BaseRoute]:
    """The console's routes for the service's app (``workflow serve``); see the contract in
    docs/web.md."""
    return Console(context.engine, context).routes()


def _partial(call: Call) -> bool:
    """Asked by the console's script (static/console.js) for a fragment, not the whole page."""
    return call.request.headers.get("x-partial") == "1"


def _viewer(call: Call) -> Viewer:
    assert call.viewer is not None  # the page() wrapper sent anyone else to the login page
    return call.viewer


def _auditing(call: Call) -> Viewer:
    viewer = _viewer(call)
    if not viewer.reads_everything:
        _ = translator(call.lang)
        raise Refusal(403, _("This page is for auditors and administrators."))
    return viewer


def _safe_next(target: str | None) -> str:
    """A local path to go to after login: never another site (``//host``, ``http:``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _int(text: str | None, default: int) -> int:
    try:
        value = int(text) if text else default
    except ValueError:
        return default
    return value if 0 <= value < 2**31 else default


def _row_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFound("instance", text)
    return int(text)


def _local_instant(text: str, zone: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return parse_instant(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return parse_instant(moment.isoformat())
