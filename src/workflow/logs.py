"""The library's loggers: structlog as the application configured it, else quiet stdlib logging.

An embedding application that configures structlog gets the engine's events through its own
pipeline. One that does not must not find a line per transition on its standard output (which
is what structlog does unconfigured): until structlog is configured, events go to the standard
``logging`` logger of the same name, so they follow the application's ``logging`` setup and, with
none, only warnings and errors reach stderr. Either way no payload value is ever passed in.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog


class Logger:
    """A named logger choosing, at each call, structlog (configured) or stdlib logging."""

    __slots__ = ("_configured", "_plain")

    def __init__(self, name: str) -> None:
        self._configured = structlog.get_logger(name)
        self._plain = structlog.wrap_logger(
            logging.getLogger(name),
            processors=[
                structlog.stdlib.filter_by_level,
                structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
            ],
            wrapper_class=structlog.stdlib.BoundLogger,
        )

    def _target(self) -> Any:
        return self._configured if structlog.is_configured() else self._plain

    def debug(self, event: str, **fields: Any) -> None:
        self._target().debug(event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self._target().info(event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._target().warning(event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self._target().error(event, **fields)


def get_logger(name: str) -> Logger:
    """The logger the library's module ``name`` logs through."""
    return Logger(name)
