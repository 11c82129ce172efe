"""Crash safety (issue 5): SIGKILL a process at chosen points of ``fire``, many times.

Afterwards the database is intact (``PRAGMA integrity_check`` on SQLite), every chain verifies,
and no transition is half-applied: for every instance the state is the last audit row's
destination and the version is the number of audit rows. Kills per configuration default to
3 per crash point (15 kills) in ``make test`` and 20 (100 kills) in ``make scaleout``
(``WORKFLOW_CRASH_KILLS_PER_POINT``).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
from crashpoints import POINTS
from scaleout_procs import FORK, RING, WORKER, crash, half_applied, sqlite_integrity

from workflow import Engine

KILLS_PER_POINT = int(os.environ.get("WORKFLOW_CRASH_KILLS_PER_POINT", "3"))


def _crash_many(url: str) -> Counter[str]:
    with Engine.open(url) as engine:
        engine.deploy_text(RING, filename="ring.yaml")
        ids = [engine.start("ring", WORKER).instance.id for _ in range(3)]
    kills: Counter[str] = Counter()
    for round_ in range(KILLS_PER_POINT):
        for number, point in enumerate(POINTS):
            proc = FORK.Process(target=crash, args=(url, ids, point, round_ * 100 + number))
            proc.start()
            proc.join()
            assert proc.exitcode == -signal.SIGKILL, f"{point}: worker exited {proc.exitcode}"
            kills[point] += 1
    return kills


def _report(label: str, kills: Counter[str], engine: Engine) -> list[int]:
    bad = half_applied(engine)
    events = engine.verify().events
    print(
        f"\ncrash [{label}]: kills={sum(kills.values())} {dict(kills)} "
        f"events={events} half-applied={len(bad)}"
    )
    return bad


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "options"),
    [
        ("sqlite", "?journal_mode=wal&synchronous=full"),
        ("sqlite", "?journal_mode=delete&synchronous=full"),
        ("postgresql", ""),
    ],
    ids=["sqlite-wal", "sqlite-rollback-journal", "postgresql"],
)
def test_sigkill_at_any_point_of_fire_leaves_no_half_applied_transition(
    backend: str, options: str, database_url: str
) -> None:
    url = database_url + options
    kills = _crash_many(url)
    with Engine.open(url) as engine:
        assert _report(f"{backend}{options}", kills, engine) == []
        if backend == "sqlite":
            assert sqlite_integrity(engine) == "ok"
        assert engine.verify().ok
