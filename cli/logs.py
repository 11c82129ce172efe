"""Logging for the command line: console on a terminal, JSON otherwise or when asked.

Every event passes :func:`redact` before it is rendered: payload and data values, values of
keys that name secrets (password, secret, token, ``*_key``...) and any text containing the
audit key (``WORKFLOW_AUDIT_KEY``) never reach a log line.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping
from typing import Any

REDACTED = "[redacted]"
AUDIT_KEY_ENV = "WORKFLOW_AUDIT_KEY"

_SECRET_KEYS = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|authori[sz]ation|cookie|"
    r"(^|[_-])key$|^key[_-]|api[_-]?key|private",
    re.IGNORECASE,
)
# Values a transition carries are the caller's business: never logged, whatever their key.
_VALUE_KEYS = {"payload", "data", "reason", "values"}


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and (key in _VALUE_KEYS or bool(_SECRET_KEYS.search(key)))


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: REDACTED if _is_secret_key(k) else _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return _scrub(str(value), secrets)


def redact(_logger: object, _method: str, event: MutableMapping[str, Any]) -> Any:
    """structlog processor: blank secret-named keys and scrub known secret values everywhere."""
    audit_key = os.environ.get(AUDIT_KEY_ENV, "")
    secrets = (audit_key,) if audit_key else ()
    for key in list(event):
        event[key] = REDACTED if _is_secret_key(key) else _scrub(event[key], secrets)
    return event


def configure(verbose: bool = False) -> None:
    import structlog

    fmt = os.environ.get("WORKFLOW_LOG_FORMAT", "console" if sys.stderr.isatty() else "json")
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty() and "NO_COLOR" not in os.environ
        )
    )
    level = (
        logging.DEBUG
        if verbose
        else logging.getLevelNamesMapping().get(
            os.environ.get("WORKFLOW_LOG_LEVEL", "WARNING").upper(), logging.WARNING
        )
    )
    # JSON: tracebacks become text before redaction, so it sees them too (the console renderer
    # formats its own; the engine logs error types, not tracebacks).
    exceptions = [structlog.processors.format_exc_info] if fmt == "json" else []
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *exceptions,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        # Not cached: tests and embedding applications may reconfigure structlog later.
        cache_logger_on_first_use=False,
    )
