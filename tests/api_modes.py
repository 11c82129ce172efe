"""The engine's verbs called three ways by the same test code: directly (``sync``), through the
async engine on a real event loop (``async``: ``AsyncEngine`` awaited on an asyncio loop in an
anyio blocking portal), and inside a transaction the caller opened (``joined``: ``within=`` a
connection that commits after the verb, or rolls back when it raises). A suite parametrised
over :data:`MODES` holds the three to one behaviour, with no second copy of its tests."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from workflow import Engine
from workflow.embedding import AsyncEngine

MODES = ["sync", "async", "joined"]
JOINED_VERBS = frozenset({"start", "start_many", "fire", "available_triggers", "get", "history"})


class ThroughEventLoop:
    """An engine whose verbs run as ``AsyncEngine`` coroutines on an event loop; everything
    else (``db``, ``clock``, ...) is the synchronous engine's."""

    def __init__(self, engine: Engine, portal: BlockingPortal) -> None:
        self.sync = engine
        self.aio = AsyncEngine(engine)
        self._portal = portal

    def __getattr__(self, name: str) -> Any:
        verb = getattr(self.aio, name, None)
        if verb is None or not inspect.iscoroutinefunction(verb):
            return getattr(self.sync, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._portal.call(partial(verb, *args, **kwargs))

        return call

    def close(self) -> None:
        self._portal.call(self.aio.aclose)


class InOwnTransaction:
    """An engine whose verbs join a transaction the caller opened on the engine's pool."""

    def __init__(self, engine: Engine) -> None:
        self.sync = engine

    def __getattr__(self, name: str) -> Any:
        verb: Callable[..., Any] = getattr(self.sync, name)
        if name not in JOINED_VERBS:
            return verb

        def call(*args: Any, **kwargs: Any) -> Any:
            with self.sync.db.begin() as conn:
                return verb(*args, within=conn, **kwargs)

        return call


@contextmanager
def driven(engine: Engine, mode: str) -> Iterator[Any]:
    """``engine`` as the test code of ``mode`` calls it."""
    if mode == "sync":
        yield engine
    elif mode == "joined":
        yield InOwnTransaction(engine)
    else:
        with start_blocking_portal("asyncio") as portal:
            yield ThroughEventLoop(engine, portal)
