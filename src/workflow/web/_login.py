"""Logging in and out of the console: the login page, the password check, the session renewed.

A login checks the password through the library (:func:`workflow.accounts.check_password`, which
throttles repeated failures per account and client) and issues a new session, so a CSRF token
seen before it is worth nothing. Separate from the pages because these are the only handlers
that run without a viewer.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import RedirectResponse, Response

from workflow.accounts import LoginThrottled, NotAuthenticated, check_password

from ._console import Call, Console
from ._text import translator


def login_page(console: Console, call: Call) -> Response:
    if call.viewer is not None:
        return console.finish(
            call, RedirectResponse(_safe_next(call.request.query_params.get("next")), 303)
        )
    return console.render(
        call, "login.html", next=_safe_next(call.request.query_params.get("next")), name=""
    )


def login(console: Console, call: Call, form: Mapping[str, str]) -> Response:
    _ = translator(call.lang)
    name = form.get("name", "").strip()
    client = call.request.client.host if call.request.client else "unknown"
    try:
        principal = check_password(
            console.engine,
            name,
            form.get("password", ""),
            client=client,
            throttle=console.context.throttle,
            channel="web",
        )
    except LoginThrottled as exc:
        message = _("Too many failed attempts: try again in {seconds} seconds.").format(
            seconds=int(exc.retry_after)
        )
        return console.render(
            call,
            "login.html",
            429,
            flashes=[("error", message)],
            next=form.get("next", "/"),
            name=name,
        )
    except NotAuthenticated:
        return console.render(
            call,
            "login.html",
            401,
            flashes=[("error", _("Wrong account or password."))],
            next=_safe_next(form.get("next")),
            name=name,
        )
    # a new session (a new CSRF token) at login: a token seen before it is worth nothing
    session = console.sessions.new(principal.account.removeprefix("user:"))
    call.cookies[-1] = console.sessions.cookie_header(session)
    return console.finish(call, RedirectResponse(_safe_next(form.get("next")), 303))


def logout(console: Console, call: Call, form: Mapping[str, str]) -> Response:
    call.cookies[-1] = console.sessions.cookie_header(None)
    return console.finish(call, RedirectResponse("/login", 303))



def _safe_next(target: str | None) -> str:
    """A local path to go to after login: never another site (``//host``, ``http:``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
