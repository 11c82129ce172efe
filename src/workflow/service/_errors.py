"""Errors to HTTP: one JSON shape (``type``, ``message``, ``fields``) and one status per error
class, in one place (as the CLI's exit codes are in ``cli/errors.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

from workflow import (
    ConcurrentModification,
    DatabaseBusy,
    DatabaseUnavailable,
    DefinitionError,
    GuardFailed,
    IdempotencyKeyReused,
    InputTooLarge,
    InvalidInput,
    MigrationRefused,
    NotFound,
    PermissionDenied,
    ReservedIdentity,
    SchemaOutOfDate,
    TransitionNotAllowed,
    UnknownTrigger,
    WorkflowError,
)
from workflow.accounts import LoginThrottled, NotAuthenticated
from workflow.directives import DirectiveConflict
from workflow.i18n import _


class BadRequest(InvalidInput):
    """The request cannot be read: its body is not a JSON object, a header or a query value is
    malformed (400)."""


class UnsupportedMediaType(InvalidInput):
    """A JSON endpoint was sent another content type (415)."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        super().__init__(
            _("send the body as application/json (got {kind!r})", kind=content_type)
            if content_type
            else _("send the body as application/json (it has no content type)")
        )


class StaleVersion(ConcurrentModification):
    """The instance is not at the version ``If-Match`` named (412)."""


class Forbidden(PermissionDenied):
    """A right the service gives only to some principals (the audit log: auditors)."""


STATUSES: tuple[tuple[type[BaseException], int], ...] = (
    (NotAuthenticated, 401),
    (LoginThrottled, 429),
    (StaleVersion, 412),
    (UnsupportedMediaType, 415),
    (InputTooLarge, 413),
    (BadRequest, 400),
    (ReservedIdentity, 403),
    (PermissionDenied, 403),
    (NotFound, 404),
    (IdempotencyKeyReused, 422),
    (DefinitionError, 422),
    (InvalidInput, 422),
    (TransitionNotAllowed, 409),
    (GuardFailed, 409),
    (UnknownTrigger, 409),
    (ConcurrentModification, 409),
    (MigrationRefused, 409),
    (DirectiveConflict, 409),
    (DatabaseBusy, 503),
    (DatabaseUnavailable, 503),
    (SchemaOutOfDate, 503),
)
"""Most specific first; a WorkflowError not listed is a 409 (refused by the rules), anything
else a 500."""

# the facts each error carries that a client can act on (never a payload value)
_FACTS = (
    "instance_id", "state", "trigger", "available", "known", "missing_fields", "reasons",
    "expected", "actual", "retry_after", "kind", "key", "differs", "limit", "problems",
    "content_type",
)  # fmt: skip


def status_for(exc: BaseException) -> int:
    """The HTTP status of an error (the console renders its pages with it)."""
    for cls, status in STATUSES:
        if isinstance(exc, cls):
            return status
    return 409 if isinstance(exc, WorkflowError) else 500


def error_body(exc: BaseException) -> dict[str, Any]:
    """``{"type", "message", "fields"}`` for an error (a bug's text is never shown)."""
    if not isinstance(exc, WorkflowError):
        return {"type": "InternalError", "message": "internal error", "fields": {}}
    fields = {name: _plain(getattr(exc, name)) for name in _FACTS if hasattr(exc, name)}
    if isinstance(exc, DefinitionError):
        fields["issues"] = [str(issue) for issue in exc.issues]
    return {"type": type(exc).__name__, "message": str(exc), "fields": fields}


def error_response(exc: BaseException, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The JSON response of an error, with ``Retry-After`` and ``WWW-Authenticate`` where due."""
    extra = dict(headers or {})
    if isinstance(exc, LoginThrottled):
        extra["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, DatabaseBusy):
        extra["Retry-After"] = "1"
    elif isinstance(exc, NotAuthenticated):
        extra["WWW-Authenticate"] = 'Bearer realm="workflow"'
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=extra)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
