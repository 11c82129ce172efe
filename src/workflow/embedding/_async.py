"""The async engine: the same verbs, errors and guarantees, for an application on an event loop.

Each verb runs the synchronous engine's own code in a worker thread (``anyio.to_thread``),
bounded by a capacity limiter sized to the connection pool, so the event loop never waits on
the database and there is no second write path: the one writer (``store/chain_writer.py``)
writes every row, as for a synchronous caller. Why a bounded thread offload rather than async
drivers under a sans-IO core: docs/embedding.md, "The async engine", with the measurement.

A verb's thread is not abandoned when its task is cancelled: the transaction in hand commits or
rolls back as a whole, then the cancellation is delivered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from workflow.engine import Engine

if TYPE_CHECKING:
    import anyio

    from workflow.store import Connection

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=Callable[..., Any])

_FALLBACK_THREADS = 8


def _offloaded(
    method: Callable[Concatenate[Engine, P], R],
) -> Callable[Concatenate[AsyncEngine, P], Awaitable[R]]:
    """``Engine.method`` as a coroutine method of :class:`AsyncEngine`, run in a worker thread."""

    async def call(self: AsyncEngine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self.run(partial(method, self.sync, *args, **kwargs))

    return _named(call, method)


def _joined(
    method: Callable[Concatenate[Engine, P], R],
) -> Callable[Concatenate[AsyncTransaction, P], Awaitable[R]]:
    """``Engine.method`` inside an :class:`AsyncTransaction` (``within=`` its connection)."""

    async def call(self: AsyncTransaction, /, *args: P.args, **kwargs: P.kwargs) -> R:
        kwargs["within"] = self.connection
        return await self._engine.run(partial(method, self._engine.sync, *args, **kwargs))

    return _named(call, method)


def _named(call: C, method: Callable[..., Any]) -> C:
    """``call`` documented as the engine's ``method`` (name, docstring)."""
    call.__name__ = call.__qualname__ = method.__name__
    call.__doc__ = method.__doc__
    return call


class AsyncEngine:
    """The :class:`~workflow.Engine`'s verbs as coroutines, for FastAPI, Starlette or any anyio
    (asyncio or trio) application.

    >>> engine = AsyncEngine(Engine.open("postgresql+psycopg://app@db/app"))  # doctest: +SKIP
    >>> result = await engine.fire(42, "approve", actor)                         # doctest: +SKIP

    ``max_threads``: how many verbs run at once (default: what the connection pool can serve,
    its size plus its overflow); the others wait on the event loop, not in a thread.
    """

    def __init__(self, engine: Engine, *, max_threads: int | None = None) -> None:
        self.sync = engine
        """The synchronous engine every verb runs on (its clock, registry and database)."""
        self._threads = max_threads or _pool_capacity(engine)
        self._limiter: anyio.CapacityLimiter | None = None

    @classmethod
    def open(cls, url: str, *, max_threads: int | None = None, **kwargs: Any) -> AsyncEngine:
        """:meth:`Engine.open <workflow.Engine.open>` wrapped (opening is quick: no thread)."""
        return cls(Engine.open(url, **kwargs), max_threads=max_threads)

    async def run(self, function: Callable[[], R]) -> R:
        """Run ``function()`` in a worker thread under this engine's limiter: for the verbs of
        the feature packages (``workflow.timers.drain_due_timers``, ``workflow.events``, ...)."""
        from anyio import CapacityLimiter, to_thread  # the async extra: only async callers pay

        if self._limiter is None:
            self._limiter = CapacityLimiter(self._threads)
        return await to_thread.run_sync(function, limiter=self._limiter)

    deploy = _offloaded(Engine.deploy)
    deploy_text = _offloaded(Engine.deploy_text)
    definition = _offloaded(Engine.definition)
    deployed = _offloaded(Engine.deployed)
    start = _offloaded(Engine.start)
    start_many = _offloaded(Engine.start_many)
    fire = _offloaded(Engine.fire)
    fire_timer = _offloaded(Engine.fire_timer)
    available_triggers = _offloaded(Engine.available_triggers)
    get = _offloaded(Engine.get)
    instances = _offloaded(Engine.instances)
    count_instances = _offloaded(Engine.count_instances)
    history = _offloaded(Engine.history)
    verify = _offloaded(Engine.verify)
    add_actor = _offloaded(Engine.add_actor)
    actor = _offloaded(Engine.actor)
    actors = _offloaded(Engine.actors)
    upgrade_schema = _offloaded(Engine.upgrade_schema)

    def transaction(self) -> AsyncTransaction:
        """One write transaction on one connection, for the application's own statements
        (:meth:`AsyncTransaction.run`) and the engine's verbs together; committed when the
        ``async with`` block ends, rolled back if it raises::

            async with engine.transaction() as tx:
                await tx.run(lambda conn: conn.execute(insert(uploads).values(name=name)))
                await tx.fire(instance_id, "submit", actor, payload=form)
        """
        return AsyncTransaction(self)

    async def aclose(self) -> None:
        await self.run(self.sync.close)

    async def __aenter__(self) -> AsyncEngine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncTransaction:
    """An open write transaction of an :class:`AsyncEngine` (from its ``transaction()``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._context: AbstractContextManager[Connection] | None = None
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        """The transaction's SQLAlchemy connection: use it only inside :meth:`run`."""
        if self._connection is None:
            raise RuntimeError("the transaction is not open: use `async with`")
        return self._connection

    async def run(self, function: Callable[[Connection], R]) -> R:
        """Run ``function(connection)`` in a worker thread, in this transaction."""
        connection = self.connection
        return await self._engine.run(lambda: function(connection))

    start = _joined(Engine.start)
    start_many = _joined(Engine.start_many)
    fire = _joined(Engine.fire)
    available_triggers = _joined(Engine.available_triggers)
    get = _joined(Engine.get)
    history = _joined(Engine.history)

    async def __aenter__(self) -> AsyncTransaction:
        context = self._engine.sync.begin()
        self._connection = await self._engine.run(context.__enter__)
        self._context = context
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        context, self._context, self._connection = self._context, None, None
        assert context is not None
        from anyio import CancelScope

        # shielded: a cancelled task still ends its transaction (and returns the connection)
        with CancelScope(shield=True):
            await self._engine.run(lambda: context.__exit__(kind, error, trace))


def _pool_capacity(engine: Engine) -> int:
    pool: Any = engine.db.pool
    size, overflow = getattr(pool, "size", None), getattr(pool, "_max_overflow", None)
    if callable(size) and isinstance(overflow, int):
        return max(1, int(size()) + max(overflow, 0))
    return _FALLBACK_THREADS
