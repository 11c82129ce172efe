"""Logging for the command line: console on a terminal, JSON otherwise or when asked."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any


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
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        # Not cached: tests and embedding applications may reconfigure structlog later.
        cache_logger_on_first_use=False,
    )
