"""Putting the application together, and running it."""

from __future__ import annotations

import importlib
import signal
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.responses import JSONResponse

import workflow
from workflow import Engine
from workflow.service import _api, _docs, _events
from workflow.service._app import (
    BodyLimit,
    Language,
    LoginGate,
    ServiceContext,
    ServiceOptions,
    install_error_handlers,
)
from workflow.service._events import EventStream

if TYPE_CHECKING:
    from starlette.types import ASGIApp
    from uvicorn import Config

_DESCRIPTION = (
    "Start instances, fire triggers, read history and the audit log of directive workflows. "
    "Authenticate with `Authorization: Bearer TOKEN` (`workflow tokens create`) or Basic with "
    "an account (`workflow users add`). Errors are `{type, message, fields}`. An instance's "
    "ETag is its version; send it as If-Match when firing (412 when it moved)."
)


def create_app(engine: Engine, *, options: ServiceOptions | None = None) -> FastAPI:
    """The ASGI application over ``engine`` (opened and closed by the caller)."""
    options = options or ServiceOptions()
    app = FastAPI(
        title="workflow",
        version=workflow.__version__,
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if options.docs else None,
    )
    app.state.context = ServiceContext(engine, options, EventStream(engine, options.poll_seconds))
    install_error_handlers(app)
    _api.install_fire(app)
    app.include_router(_api.router)
    app.include_router(_events.router)

    async def healthz(_: Any) -> JSONResponse:
        return JSONResponse({"ok": True})

    app.add_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    if options.docs:
        _docs.install(app)
    routes = _web_routes()
    if routes is not None:
        app.router.routes.extend(routes(app.state.context))
    app.add_middleware(BodyLimit, limit=options.max_body_bytes)
    app.add_middleware(LoginGate, throttle=options.throttle)
    app.add_middleware(Language)
    return app


def _web_routes() -> Callable[[ServiceContext], list[Any]] | None:
    """``workflow.web.routes`` when the console is installed (its own extra's imports too)."""
    try:
        module = importlib.import_module("workflow.web")
    except ImportError:
        return None
    routes: Callable[[ServiceContext], list[Any]] | None = getattr(module, "routes", None)
    return routes


def serve(
    engine: Engine,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    options: ServiceOptions | None = None,
    graceful_seconds: int = 10,
    forwarded_allow_ips: str | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM: uvicorn stops accepting, lets requests in flight finish
    (at most ``graceful_seconds``; an event stream is closed then), and returns."""
    import uvicorn  # noqa: PLC0415 - only when serving

    config = uvicorn_config(
        create_app(engine, options=options),
        host=host,
        port=port,
        graceful_seconds=graceful_seconds,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        on_ready()
    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again for the handler
    # it found in place: a no-op one here, so a requested stop returns (exit 0), as the timer
    # worker's does, instead of dying of the signal after the clean shutdown.
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, _stopped) for sig in stops}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def uvicorn_config(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    graceful_seconds: int,
    forwarded_allow_ips: str | None,
    workers: int = 1,
) -> Config:
    """How uvicorn serves ``app``, in one process or (``workers``) several."""
    import uvicorn  # noqa: PLC0415 - only when serving

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=graceful_seconds,
        forwarded_allow_ips=forwarded_allow_ips,
        proxy_headers=forwarded_allow_ips is not None,
        server_header=False,
    )


def _stopped(signum: int, frame: FrameType | None) -> None:
    """The handler uvicorn hands a captured SIGINT/SIGTERM back to, after its shutdown."""
