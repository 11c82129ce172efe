"""Shared by the reliability suite: hypothesis profiles, databases for examples, run counters.

Hypothesis runs many examples inside one pytest test, so the per-test ``database_url`` fixture
cannot give each example its own database. Instead each test builds a :class:`DatabasePool`:
SQLite examples get a copy of a database migrated once; PostgreSQL examples share a migrated
schema (a fresh one every ``ROTATE`` examples, so the soak run does not verify ever-growing
logs) and stay apart by using their own workflow name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, func, select, text

from workflow import Engine
from workflow.store.tables import metadata

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

# CI: a few seconds per backend. Soak (`make soak`): minutes, long runs of steps.
settings.register_profile(
    "ci",
    max_examples=5,
    stateful_step_count=15,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "soak",
    max_examples=400,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

COUNTS: Counter[str] = Counter()
"""Printed at the end of the session by ``pytest_terminal_summary`` in ``tests/conftest.py``."""


SOAK_FACTOR = 25
"""How many more examples a fuzz test runs under the soak profile than in CI."""


def profile(max_examples: int | None = None) -> settings:
    """The active profile's settings (``HYPOTHESIS_PROFILE``); ``max_examples`` is the CI
    count of a fuzz test, multiplied by :data:`SOAK_FACTOR` under the soak profile.
    ``RELIABILITY_MAX_EXAMPLES`` sets the model check's count (a soak of a chosen length)."""
    active = settings.get_profile(PROFILE)
    if max_examples is None:
        chosen = os.environ.get("RELIABILITY_MAX_EXAMPLES")
        return settings(active, max_examples=int(chosen)) if chosen else settings(active)
    factor = SOAK_FACTOR if PROFILE == "soak" else 1
    return settings(active, max_examples=max_examples * factor)


def count(key: str, amount: int = 1) -> None:
    COUNTS[key] += amount


class DatabasePool:
    """Hands out a migrated database URL for each hypothesis example."""

    ROTATE = 10

    def __init__(self, backend: str, workdir: Path, server_url: str | None = None) -> None:
        self.backend = backend
        self.workdir = workdir
        self.server_url = server_url
        self.handed = 0
        self._shared: str | None = None
        if backend == "sqlite":
            self._template = workdir / "template.db"
            with Engine.open(f"sqlite:///{self._template}"):
                pass

    def next_url(self) -> str:
        self.handed += 1
        if self.backend == "sqlite":
            path = self.workdir / f"example-{self.handed}.db"
            shutil.copyfile(self._template, path)
            path.chmod(0o600)
            return f"sqlite:///{path}"
        if self._shared is None or self.handed % self.ROTATE == 0:
            assert self.server_url is not None
            self._shared = new_postgres_schema(self.server_url)
        return self._shared


def new_postgres_schema(server_url: str) -> str:
    """A new migrated schema in the run's PostgreSQL database."""
    schema = f"r_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = f"{server_url}?schema={schema}"
    with Engine(url, check_schema=False) as setup:
        setup.upgrade_schema()
    return url


RUNNER = Path(__file__).resolve().parent / "costed_cli_runs.py"


def run_cli(
    work: Path,
    db: str,
    runs: list[list[str]],
    env: dict[str, str] | None = None,
    limits: Callable[[], None] | None = None,
) -> dict:
    """Run each argv through the real CLI in one fresh interpreter (see ``costed_cli_runs.py``);
    ``limits`` runs in the child before it starts (``setrlimit`` caps)."""
    spec, out = work / "spec.json", work / "results.json"
    spec.write_text(json.dumps({"db": db, "runs": runs}), encoding="utf-8")
    subprocess.run(
        [sys.executable, str(RUNNER), str(spec), str(out)],
        check=True,
        timeout=240,
        env={**os.environ, **(env or {})},
        preexec_fn=limits,
    )
    return dict(json.loads(out.read_text(encoding="utf-8")))


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table: the test that an error wrote nothing compares these before and after."""
    with engine.db.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }
