"""Serving from several processes (``workflow serve --workers N``): uvicorn's supervisor binds the
socket once and starts N worker processes that accept on it, each with its own engine, its own
interpreter (so its own GIL: one process serves about one core's worth of fires) and its own
login throttle; it restarts a worker that dies and stops them all on SIGINT or SIGTERM, each
finishing its requests in flight. Several processes against one database behave as several CLI
processes do (docs/service.md).

A worker opens its engine when its application starts (:class:`WorkerApplication`): a worker
that cannot (database unreachable, schema out of date) fails its start, and the supervisor then
stops instead of restarting it forever.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from workflow import Engine, WorkflowError, load_functions
from workflow.i18n import _
from workflow.service._app import DATABASE_OPTIONS, ServiceOptions
from workflow.service._factory import create_app, uvicorn_config


class WorkerStartFailed(WorkflowError):
    """A server process could not start (its own log line says why): nothing is served."""


@dataclass
class WorkerApplication:
    """The application of one worker process, sent to it pickled (before it starts: no engine
    or application yet, those are made in the worker): at its start it runs
    ``prepare`` (``"module:function"``, e.g. the CLI's logging set-up), registers the
    ``functions`` modules, opens its engine on ``url`` and builds the application
    (:func:`~workflow.service.create_app`); at its shutdown it closes the engine."""

    url: str = field(repr=False)  # it may hold the database's password
    functions: tuple[str, ...] = ()
    prepare: str | None = None
    options: ServiceOptions = field(default_factory=ServiceOptions)
    _engine: Engine | None = field(default=None, init=False, repr=False)
    _app: ASGIApp | None = field(default=None, init=False, repr=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._app is None:  # uvicorn serves nothing before the start completed
            raise RuntimeError("the worker's application has not started")
        await self._app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self._start()
                except Exception as exc:  # uvicorn logs the message and the process ends
                    said = str(exc) if isinstance(exc, WorkflowError) else repr(exc)
                    await send({"type": "lifespan.startup.failed", "message": said})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._engine is not None:
                    self._engine.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _start(self) -> None:
        from uvicorn.importer import import_from_string  # noqa: PLC0415 - only when serving

        if self.prepare:
            import_from_string(self.prepare)()
        load_functions(self.functions)
        self._engine = Engine.open(self.url, create=False, options=DATABASE_OPTIONS)
        self._app = create_app(self._engine, options=self.options)


def serve_workers(
    url: str,
    *,
    workers: int,
    functions: Sequence[str] = (),
    prepare: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    options: ServiceOptions | None = None,
    graceful_seconds: int = 10,
    forwarded_allow_ips: str | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve the database at ``url`` from ``workers`` processes until SIGINT or SIGTERM, then
    return once every worker has finished its requests in flight (at most ``graceful_seconds``).
    :class:`WorkerStartFailed` when a worker could not start. ``functions``: the modules that
    register guard and effect functions, imported in each worker; ``prepare``: a
    ``"module:function"`` each worker calls first (its logging)."""
    from uvicorn.config import STARTUP_FAILURE  # noqa: PLC0415 - only when serving
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415
    from uvicorn.supervisors.multiprocess import SIGNALS  # noqa: PLC0415

    application = WorkerApplication(url, tuple(functions), prepare, options or ServiceOptions())
    config = uvicorn_config(
        application,
        host=host,
        port=port,
        graceful_seconds=graceful_seconds,
        forwarded_allow_ips=forwarded_allow_ips,
        workers=workers,
    )
    socket = config.bind_socket()
    handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}
    supervisor = Multiprocess(config, sockets=[socket])  # it takes these signals over
    if on_ready is not None:
        on_ready()
    try:
        supervisor.run()
    finally:
        socket.close()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
        raise WorkerStartFailed(_("a server process could not start: its log says why"))
