"""The async engine on PostgreSQL: 32 concurrent tasks firing, against raw async psycopg doing
the same writes at the same concurrency (one connection per task, one commit per transition).

Both sides move their own freshly started ``ticket`` instances from ``open`` to ``review``. The
raw side is ``bench.fire.raw_postgres_fires`` on ``psycopg.AsyncConnection``: read, update with
the version check, audit insert with its SHA-256 hash, outbox insert, commit. The engine side is
``AsyncEngine.fire`` (a worker thread per call, bounded by a limiter of 32) over an engine whose
pool holds 32 connections.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

import anyio
import psycopg

from bench.common import psycopg_dsn
from bench.fire import (
    _DEFINITION_HASH,
    _INSERT_AUDIT,
    _INSERT_OUTBOX,
    _READ,
    _UPDATE,
    CLERK,
    PAYLOAD,
    TOPIC,
    _audit_params,
    postgres_step,
)
from workflow import DatabaseOptions, Engine
from workflow.embedding import AsyncEngine

TASKS = 32


def _slices(ids: Sequence[int], tasks: int) -> list[Sequence[int]]:
    return [ids[i::tasks] for i in range(tasks)]


async def _raw_task(url: str, ids: Sequence[int], ready: anyio.Event) -> None:
    read, change = _READ.format(p="%s"), _UPDATE.format(p="%s")
    add_audit = _INSERT_AUDIT.format(p="%s") + " RETURNING id"
    add_outbox = _INSERT_OUTBOX.format(p="%s")
    async with await psycopg.AsyncConnection.connect(psycopg_dsn(url)) as conn:
        first = await (await conn.execute(_DEFINITION_HASH)).fetchone()
        assert first is not None
        await conn.commit()
        await ready.wait()
        for instance_id in ids:
            async with conn.cursor() as cur:
                await cur.execute(read, (instance_id,))
                row = await cur.fetchone()
                assert row is not None
                now = datetime.now(UTC)
                audit, moved = postgres_step(row, instance_id, now, first[0])
                await cur.execute(change, moved)
                if cur.rowcount != 1:
                    raise RuntimeError("version check failed")
                await cur.execute(add_audit, _audit_params(audit, now))
                audit_row = await cur.fetchone()
                assert audit_row is not None
                await cur.execute(add_outbox, (audit_row[0], instance_id, TOPIC, now, now))
            await conn.commit()


def raw_async_rate(url: str, ids: Sequence[int]) -> float:
    """Transitions per second of raw async psycopg, :data:`TASKS` connections (connecting is
    not timed: the tasks start together once all are connected)."""

    async def main() -> float:
        ready = anyio.Event()
        async with anyio.create_task_group() as group:
            for part in _slices(ids, TASKS):
                group.start_soon(_raw_task, url, part, ready)
            await anyio.sleep(0.5)  # let every task connect
            started = time.perf_counter()
            ready.set()
        return len(ids) / (time.perf_counter() - started)

    return anyio.run(main)


def async_engine_rate(engine: AsyncEngine, ids: Sequence[int]) -> float:
    """Transitions per second of :data:`TASKS` tasks awaiting ``AsyncEngine.fire``."""

    async def fire_all(part: Sequence[int]) -> None:
        for instance_id in part:
            await engine.fire(instance_id, "submit", CLERK, payload=PAYLOAD)

    async def main() -> float:
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for part in _slices(ids, TASKS):
                group.start_soon(fire_all, part)
        return len(ids) / (time.perf_counter() - started)

    return anyio.run(main)


def pooled_engine(url: str) -> Engine:
    """The benchmark's engine, its pool sized to the tasks (as the raw side's connections)."""
    return Engine(url, options=DatabaseOptions(pool_size=TASKS, max_overflow=0))
