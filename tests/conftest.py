"""Shared fixtures: every behaviour runs on real SQLite and real PostgreSQL.

PostgreSQL tests need ``WORKFLOW_TEST_POSTGRES_URL`` (CI sets it); each test run creates its own
database with a unique name and drops it at the end, and each test gets its own schema in it.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from support import PAYMENT, POSTGRES_ENV, START, postgres_schema_url

from workflow import Actor, Engine, FrozenClock, Registry

BACKENDS = ["sqlite", "postgresql"]

# The suite speaks English, whatever the machine's locale, and the CLI processes it starts too;
# the tests of the languages themselves (test_i18n*.py) set the language they are about.
os.environ["WORKFLOW_LANG"] = "en"
# ... and shows times on a UTC machine's clock (tables name the zone they show: "(UTC)")
os.environ["TZ"] = "UTC"


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh database on the test server for this run, dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(
            f"PostgreSQL tests skipped: set {POSTGRES_ENV} "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run them"
        )
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"wf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head; each test gets a copy (cheaper than migrating)."""
    path = tmp_path_factory.mktemp("template") / "workflow.db"
    with Engine.open(f"sqlite:///{path}") as engine, engine.db.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty, migrated database on the backend under test."""
    if backend == "sqlite":
        path = tmp_path / "workflow.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        path.chmod(0o600)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("postgres_server_url")
    url = postgres_schema_url(server)
    with Engine(url, check_schema=False) as setup:
        setup.upgrade_schema()
    return url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def engine(database_url: str, clock: FrozenClock, registry: Registry) -> Iterator[Engine]:
    with Engine.open(database_url, clock=clock, registry=registry) as opened:
        yield opened


@pytest.fixture
def payment(engine: Engine) -> Engine:
    """The engine with the payment workflow deployed."""
    engine.deploy_text(PAYMENT, filename="payment.yaml")
    return engine


@pytest.fixture
def clerk() -> Actor:
    return Actor("clerk-1", ["clerk"])


@pytest.fixture(autouse=True)
def _fresh_logging_config() -> Iterator[None]:
    """CLI tests configure structlog; give every test structlog's defaults back."""
    yield
    structlog.reset_defaults()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what the reliability suite exercised (examples, steps, corpus cases), if it ran.

    This lives here rather than in a ``tests/reliability/conftest.py``: a second module named
    ``conftest`` would shadow this one for the test modules that ``from conftest import ...``.
    """
    support = sys.modules.get("reliability_support")
    counts = getattr(support, "COUNTS", None)
    if not counts:
        return
    terminalreporter.section(f"reliability counts (hypothesis profile {support.PROFILE!r})")
    for key in sorted(counts):
        if key.endswith(":total"):
            continue
        total = counts.get(key.replace(":passed", ":total"))
        if key.endswith(":passed") and total is not None:
            name = key.removesuffix(":passed")
            terminalreporter.write_line(f"{name}: {counts[key]}/{total} passed")
        else:
            terminalreporter.write_line(f"{key}: {counts[key]}")


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2id at its lowest costs for the tests' own accounts (the defaults take about 50 ms
    and 64 MiB per hash); a hash keeps its parameters, so the server verifies them as made."""
    try:
        from argon2 import PasswordHasher

        from workflow.accounts import set_password_hasher
    except ImportError:  # the [web] extra is not installed: no accounts to hash
        yield
        return
    set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    set_password_hasher(None)


@pytest.fixture(scope="session", params=BACKENDS)
def service_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[object]:
    """A real ``workflow serve`` process per backend, shared by the service's test modules, over
    a seeded database (tests/service_support.py); stopped with SIGTERM, which must exit 0."""
    from service_support import running_server, seed

    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("service") / "workflow.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = postgres_schema_url(request.getfixturevalue("postgres_server_url"))
        with Engine(url, check_schema=False) as setup:
            setup.upgrade_schema()
    with running_server(url, seed(url)) as server:
        yield server
