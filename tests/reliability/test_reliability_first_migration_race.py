"""Many processes creating or migrating the same new database at once: every one succeeds.

The first migration takes the write lock (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory
lock) and reads the revision under it, so the processes queue and the later ones find the
schema made. Sixteen processes are forked once and meet at a barrier before each round, so the
rounds cost the race, not sixteen interpreter starts each.
"""

from __future__ import annotations

import multiprocessing
import traceback
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from support import postgres_schema_url

from workflow import Engine

PROCESSES = 16
ROUNDS = 20


def _open_each_round(urls: list[str], barrier: Barrier, results: Any) -> None:
    """One racer: for each round, wait for the others, then open the new database."""
    for url in urls:
        barrier.wait(timeout=120)
        try:
            with Engine.open(url) as engine:
                current, head = engine.schema_revision()
                assert current == head
            results.put(None)
        except Exception:  # the failure is the finding: report it, keep racing
            results.put(traceback.format_exc(limit=4))


def _upgrade_once(url: str, barrier: Barrier, results: Any) -> None:
    barrier.wait(timeout=120)
    try:
        with Engine(url, check_schema=False) as engine:
            engine.upgrade_schema()
        results.put(None)
    except Exception:
        results.put(traceback.format_exc(limit=3))


def _race(target: Any, args_for: Any, processes: int, expected: int) -> list[str]:
    """Run ``processes`` racers (forked: the imports are already done) and gather failures."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    results = context.Queue()
    racers = [
        context.Process(target=target, args=args_for(i, barrier, results)) for i in range(processes)
    ]
    for racer in racers:
        racer.start()
    outcomes = [results.get(timeout=300) for _ in range(expected)]
    for racer in racers:
        racer.join(timeout=60)
    assert [racer.exitcode for racer in racers] == [0] * processes
    return [failure for failure in outcomes if failure is not None]


def test_sixteen_processes_creating_a_new_sqlite_file_all_succeed(tmp_path: Path) -> None:
    """Twenty rounds, each on a file that does not exist yet: no "database is locked" (from
    the journal-mode switch or the first CREATE TABLE), each process finds the schema at head."""
    urls = [f"sqlite:///{tmp_path / f'round-{n}' / 'new.db'}" for n in range(ROUNDS)]
    failures = _race(
        _open_each_round,
        lambda _i, barrier, results: (urls, barrier, results),
        PROCESSES,
        PROCESSES * ROUNDS,
    )
    assert failures == [], failures[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_db_upgrades_all_succeed(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The loser of two (here four) `db upgrade` at once waits and finds nothing to do."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    else:
        url = postgres_schema_url(request.getfixturevalue("postgres_server_url"))
    failures = _race(_upgrade_once, lambda _i, barrier, results: (url, barrier, results), 4, 4)
    assert failures == []
    with Engine.open(url, create=False) as engine:
        current, head = engine.schema_revision()
    assert current == head
