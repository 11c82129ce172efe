"""The HTTP service: the JSON API over the public library, with accounts and tokens.

:func:`create_app` builds the ASGI application (FastAPI on Starlette) for an open engine: the API
under ``/api/v1`` (OpenAPI at ``/openapi.json``, browsable at ``/docs``), and the web console's
pages when ``workflow.web`` is installed. :func:`serve` runs it with uvicorn until SIGINT or
SIGTERM (``workflow serve``); :func:`serve_workers` runs it in several processes, each opening
its own engine (``workflow serve --workers N``). Every route authenticates (``Authorization:
Bearer`` token or ``Basic`` account) and acts as the principal's registered actor through the
``api`` channel.
See docs/service.md.
"""

from __future__ import annotations

from workflow.service._app import (
    DATABASE_OPTIONS,
    Caller,
    ServiceContext,
    ServiceOptions,
    authenticated,
    context_of,
)
from workflow.service._errors import (
    STATUSES,
    BadRequest,
    UnsupportedMediaType,
    error_body,
    error_response,
    status_for,
)
from workflow.service._events import EventStream
from workflow.service._factory import create_app, serve
from workflow.service._workers import WorkerStartFailed, serve_workers

__all__ = [
    "DATABASE_OPTIONS",
    "STATUSES",
    "BadRequest",
    "Caller",
    "EventStream",
    "ServiceContext",
    "ServiceOptions",
    "UnsupportedMediaType",
    "WorkerStartFailed",
    "authenticated",
    "context_of",
    "create_app",
    "error_body",
    "error_response",
    "serve",
    "serve_workers",
    "status_for",
]
