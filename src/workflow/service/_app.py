"""The application: options, the context every route reads, authentication, the body limit,
and the error handlers; :func:`create_app` puts the API (``_api``) and, when installed, the web
console (``workflow.web``) together."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow import DatabaseOptions, Engine, InputTooLarge, WorkflowError, parse_json
from workflow.accounts import (
    LoginThrottle,
    NotAuthenticated,
    Principal,
    check_password,
    principal_for_token,
)
from workflow.i18n import _, as_language, use_language
from workflow.service._errors import (
    BadRequest,
    UnsupportedMediaType,
    error_body,
    error_response,
)

if TYPE_CHECKING:
    from workflow.service._events import EventStream

MAX_BODY_BYTES = 1024 * 1024
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@dataclass(frozen=True)
class ServiceOptions:
    """How the service runs: the largest request body read, the login throttle (shared with the
    console's login), whether ``/docs`` is served, and whether clients reach it over TLS (a
    reverse proxy in front: the console then marks its cookies ``Secure``)."""

    max_body_bytes: int = MAX_BODY_BYTES
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    docs: bool = True
    secure_cookies: bool = False
    poll_seconds: float = 0.5
    """How often the event stream looks for newly committed transitions."""
    fire_threads: int = 4
    """The worker threads fires run in: at most this many at once, each holding one of the
    engine's pooled connections (15 by default). With 32 concurrent clients on 2 cores and
    PostgreSQL on the same machine, 4 served the most fires at the least CPU per fire and the
    lowest p99 (2, 3, 8, 16 and 32 measured: more threads cost more CPU per fire, as they
    contend for the interpreter; docs/performance.md); a database farther away, whose round
    trips leave a thread waiting longer, may want more."""


DATABASE_OPTIONS = DatabaseOptions(pool_pre_ping=False)
"""The options ``workflow serve`` opens its engines with: the pool lends a connection without
pinging it first (a round trip saved on every request: 8-20% more fires per second measured,
docs/performance.md). Each request's first read, its credentials', checks the connection
instead: one found dead is replaced and the read (for a fire, its whole transaction) runs again
(:meth:`Engine.retry_if_lost <workflow.Engine.retry_if_lost>`)."""


@dataclass
class ServiceContext:
    """What every route reads: the engine, the options and the event stream; and the threads
    fires run in (:meth:`in_worker`)."""

    engine: Engine
    options: ServiceOptions
    events: EventStream
    workers: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.workers = ThreadPoolExecutor(self.options.fire_threads, "workflow-fire")

    async def in_worker(self, call: Callable[[], T]) -> T:
        """``call()`` in a worker thread, in this request's context (its language): asyncio's
        hop to an executor cost a third of what anyio's thread pool (FastAPI's, for a plain
        ``def`` endpoint) cost per call, and the fire is the endpoint called that often."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.workers, contextvars.copy_context().run, call)

    @property
    def throttle(self) -> LoginThrottle:
        return self.options.throttle


def context_of(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


# --- authentication ---------------------------------------------------------------------------


class _BearerDeclared(HTTPBearer):
    """Declares Bearer in the OpenAPI document; :func:`read_credentials` reads the header."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


class _BasicDeclared(HTTPBasic):
    """Declares Basic in the OpenAPI document; :func:`read_credentials` reads the header
    (FastAPI's own reader answers a malformed one with its 401, not our 400)."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


_bearer = _BearerDeclared(
    scheme_name="HTTPBearer", description="An API token: `workflow tokens create`."
)
_basic = _BasicDeclared(description="An account: `workflow users add` (throttled).")


@dataclass(frozen=True)
class Credentials:
    """What the ``Authorization`` header says, read without the database: a bearer token's
    secret, or an account's name and password with the client's address (for the throttle)."""

    token: str | None = None
    name: str = ""
    password: str = ""
    client: str | None = None

    def principal(self, context: ServiceContext, *, within: Any = None) -> Principal:
        """The caller: the token's actor (read in ``within``, a transaction of
        ``engine.begin()``, when given), or the account's once its password is checked
        (throttled; Argon2, so never inside a transaction)."""
        if self.token is not None:
            return principal_for_token(context.engine, self.token, channel="api", within=within)
        return check_password(
            context.engine,
            self.name,
            self.password,
            throttle=context.throttle,
            client=self.client,
            channel="api",
        )


def read_credentials(request: Request) -> Credentials:
    """``Authorization: Bearer TOKEN`` or ``Basic`` (an account and password), parsed on the
    event loop (nothing is read or hashed here); the API reads no cookie, so it needs no CSRF
    defence."""
    scheme, _space, value = request.headers.get("authorization", "").partition(" ")
    kind = scheme.lower()
    if kind == "bearer" and value:
        return Credentials(token=value)
    if kind == "basic" and value:
        try:
            name, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(_("the Basic credentials are not base64 of NAME:PASSWORD")) from None
        if not sep:
            raise BadRequest(_("the Basic credentials are not base64 of NAME:PASSWORD"))
        client = request.client.host if request.client else None
        return Credentials(name=name, password=password, client=client)
    raise NotAuthenticated(_("send Authorization: Bearer TOKEN (or Basic for an account)"))


async def credentials(
    request: Request,
    _bearer_declared: Annotated[Any, Depends(_bearer)],
    _basic_declared: Annotated[Any, Depends(_basic)],
) -> Credentials:
    """The dependency of every route but fire (:func:`read_credentials`, with both schemes
    declared in the OpenAPI document)."""
    return read_credentials(request)


Sent = Annotated[Credentials, Depends(credentials)]


def authenticated(request: Request, sent: Sent) -> Principal:
    """The caller, authenticated in a read of its own (a fire authenticates in its own
    transaction instead: ``_api.fire``)."""
    return sent.principal(context_of(request))


Caller = Annotated[Principal, Depends(authenticated)]


# --- request bodies ---------------------------------------------------------------------------


Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_READS_ITSELF: dict[Callable[..., Any], Handler] = {}


def reads_itself(handler: Handler) -> Callable[[F], F]:
    """Marks an endpoint whose request ``handler`` reads by hand (then calls the endpoint):
    FastAPI still reads the endpoint's signature for the OpenAPI document, but solves no
    dependency and validates nothing itself on that route. For the hot path only (the fire:
    see ``_api``), where that machinery cost three times what the route's own reading costs."""

    def mark(endpoint: F) -> F:
        _READS_ITSELF[endpoint] = handler
        return endpoint

    return mark


class JsonRoute(APIRoute):
    """A route whose body, when it has one, must be ``application/json`` and is parsed by the
    library's bounded reader (nesting, digits, NaN refused) before FastAPI validates it; an
    endpoint marked :func:`reads_itself` is served by its own handler."""

    def get_route_handler(self) -> Handler:
        own = _READS_ITSELF.get(self.endpoint)
        if own is not None:
            return own
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def bounded(request: Request) -> Response:
            request._json = await json_object(request)  # Request.json()'s cache, from now on
            return await handler(request)

        return bounded


async def json_object(request: Request) -> dict[str, Any]:
    """The body, which must be an ``application/json`` object, parsed by the library's bounded
    reader (nesting, digits, NaN refused): 415 or 400 otherwise."""
    kind = request.headers.get("content-type", "")
    if kind.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(kind[:100])
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(_("the request body is not UTF-8 text")) from None
    try:
        value = parse_json(text, _("the request body"))
    except BadRequest:
        raise
    except Exception as exc:  # InvalidInput: not JSON, too deep, NaN
        raise BadRequest(str(exc)) from None
    if not isinstance(value, dict):
        raise BadRequest(_("the request body is not a JSON object"))
    return value


class BodyLimit:
    """Refuses a body larger than ``limit`` bytes (413), declared or streamed, before reading it
    whole: a declared ``Content-Length`` over it is refused at once, a chunked body as soon as
    it passes it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _send_error(scope, receive, send, BadRequest(_("bad Content-Length")), True)
                return
            if int(declared) > self.limit:
                too_large = InputTooLarge(_("the request body"), self.limit)
                await _send_error(scope, receive, send, too_large, True)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise InputTooLarge(_("the request body"), self.limit)
            return message

        await self.app(scope, counted, send)


class Language:
    """Messages in the language the request asks for (``Accept-Language``: Vietnamese when its
    first choice is ``vi``, English when ``en``; otherwise the process's own): errors are
    translated when they are made, in this request's context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = dict(scope.get("headers") or ()).get(b"accept-language", b"")
        first = header.split(b",", 1)[0].split(b";", 1)[0].strip().lower()[:2]
        chosen = as_language(first.decode("ascii", "replace")) if first else None
        if chosen is None:
            await self.app(scope, receive, send)
            return
        with use_language(chosen):
            await self.app(scope, receive, send)


class LoginGate:
    """Refuses a Basic login from a throttled name or client (429) before anything else runs:
    a flood of wrong passwords costs the server a dictionary lookup each, not a request's work
    (the same check :func:`~workflow.accounts.check_password` makes first)."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if header[:6].lower() == b"basic ":
                name = _basic_name(header[6:])
                client = scope.get("client")
                try:
                    if name is not None:
                        self.throttle.check(name, client[0] if client else None)
                except WorkflowError as exc:
                    await _send_error(scope, receive, send, exc)
                    return
        await self.app(scope, receive, send)


def _basic_name(value: bytes) -> str | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None  # the route answers 400
    return decoded.partition(":")[0]


async def _send_error(
    scope: Scope, receive: Receive, send: Send, exc: Exception, close: bool = False
) -> None:
    response = error_response(exc, {"Connection": "close"} if close else None)
    await response(scope, receive, send)


# --- errors -----------------------------------------------------------------------------------


def install_error_handlers(app: FastAPI) -> None:
    async def workflow_error(_: Request, exc: Exception) -> Response:
        return error_response(exc)

    async def invalid_request(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        body = {"type": "RequestValidationError", "message": _summary(errors), "fields": {}}
        body["fields"] = {"errors": errors}
        return JSONResponse(body, status_code=422)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kinds = {404: "NotFound", 405: "MethodNotAllowed"}
        body = {"type": kinds.get(exc.status_code, "HTTPError"), "message": str(exc.detail)}
        return JSONResponse({**body, "fields": {}}, status_code=exc.status_code)

    async def bug(_: Request, exc: Exception) -> Response:
        return JSONResponse(error_body(exc), status_code=500)

    app.add_exception_handler(WorkflowError, workflow_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, bug)


def _summary(errors: list[dict[str, Any]]) -> str:
    parts = [f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more
