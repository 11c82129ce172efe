"""What every benchmark shares: sizes, timing, the workflow fired, databases made and dropped."""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "WORKFLOW_TEST_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

TICKET = """\
name: ticket
labels: {vi: Phiếu, en: Ticket}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
fields:
  amount: {type: number}
  note: {type: string}
states:
  open: {initial: true}
  review: {}
  done: {final: true}
transitions:
  - trigger: submit
    source: open
    dest: review
    roles: [clerk]
    effects:
      - merge: [amount, note]
  - trigger: approve
    source: review
    dest: done
    roles: [clerk]
  - trigger: reopen
    source: review
    dest: open
    roles: [clerk]
"""
"""The workflow every fire benchmark drives: ``submit`` moves an instance open → review (the
verify benchmark's chains go back and forth with ``reopen``)."""

STATES = ("open", "review", "done")


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is; ``--quick`` and ``--smoke`` shrink what the issue sizes."""

    mode: str
    runs: int
    fires: int
    pg_fires: int
    peer_fires: int
    scale_instances: int
    scale_events_per_instance: int
    fanout_units: int
    cli_runs: int
    rss_fires: int
    own_processes: bool = True
    """Verify and the memory figure in fresh processes (False for the smoke run: in this one)."""
    large_states: int = 10_000
    """The chain of states of the ``large`` section (the largest the limits allow)."""


FULL = Sizes("full", 5, 10_000, 2_000, 2_000, 1_000_000, 5, 10_000, 7, 100_000)
QUICK = Sizes("quick", 3, 600, 100, 150, 10_000, 5, 1_000, 3, 3_000)
SMOKE = Sizes("smoke", 1, 40, 20, 10, 500, 2, 50, 1, 100, own_processes=False, large_states=1_000)


def quiet_logs() -> None:
    """The engine logs every transition at info; a deployment filters at warning, as here."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        cache_logger_on_first_use=True,
    )


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def timed(action: Callable[[], object]) -> float:
    """Seconds taken by ``action()``."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def rss_mb() -> float:
    """This process's resident set size now, in MB (Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def sqlite_url(folder: Path, name: str) -> str:
    return f"sqlite:///{folder / name}"


def postgres_base() -> str:
    url = make_url(os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def postgres_available() -> bool:
    try:
        engine = create_engine(postgres_base(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new database on the server (its SQLAlchemy URL), dropped afterwards."""
    base = make_url(postgres_base())
    name = f"wf_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def psycopg_dsn(url: str) -> str:
    """A libpq connection string from a SQLAlchemy ``postgresql+psycopg://`` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
