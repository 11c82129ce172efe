"""Connection handling (issue 5): options from the URL, pre-ping (and, without it, a read run
again on a new connection: issue 20), statement timeout, schemas,
and SQLite's lock turned into ConcurrentModification."""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from scaleout_procs import RING, WORKER
from sqlalchemy import create_engine, text
from support import end_connections

from workflow import (
    ConcurrentModification,
    ConnectionLost,
    DatabaseBusy,
    DatabaseOptions,
    Engine,
    InvalidInput,
    SchemaOutOfDate,
)
from workflow.accounts import (
    LoginThrottle,
    add_user,
    check_password,
    create_token,
    principal_for_token,
    principal_for_user,
)


def _show(engine: Engine, setting: str) -> str:
    with engine.db.connect() as conn:
        return str(conn.execute(text(f"SHOW {setting}")).scalar_one())


@pytest.fixture
def server(postgres_server_url: str) -> str:
    """The test run's PostgreSQL database (each test picks its own schema in it)."""
    return postgres_server_url


def _tenant(server: str, **options: object) -> str:
    query = "&".join(
        f"{k}={v}" for k, v in {"schema": f"t_{uuid.uuid4().hex[:10]}", **options}.items()
    )
    return f"{server}?{query}"


def _upgraded(url: str) -> Engine:
    with Engine(url, check_schema=False) as setup:
        setup.upgrade_schema()  # creates the schema named in the URL, then the tables
    return Engine.open(url)


def test_postgres_session_settings_come_from_the_url(server: str) -> None:
    url = _tenant(
        server,
        statement_timeout_ms=1234,
        idle_in_transaction_timeout_ms=5678,
        application_name="wf_worker",
    )
    with _upgraded(url) as engine:
        schema = url.split("schema=")[1].split("&")[0]
        assert _show(engine, "search_path") == schema
        assert _show(engine, "statement_timeout") == "1234ms"
        assert _show(engine, "idle_in_transaction_session_timeout") == "5678ms"
        assert _show(engine, "application_name") == "wf_worker"


def test_postgres_pool_settings_come_from_the_url(server: str) -> None:
    url = _tenant(server, pool_size=3, max_overflow=2, pool_timeout_s=7, pool_recycle_s=60)
    with Engine(url, check_schema=False) as engine:
        pool = engine.db.pool
        assert (pool.size(), pool._max_overflow, pool._timeout, pool._recycle) == (3, 2, 7, 60)  # type: ignore[attr-defined]
        assert pool._pre_ping  # type: ignore[attr-defined]


def test_statement_timeout_cancels_a_long_statement(server: str) -> None:
    with Engine(_tenant(server, statement_timeout_ms=50), check_schema=False) as engine:
        with pytest.raises(DatabaseBusy) as caught, engine.db.connect() as conn:
            conn.execute(text("SELECT pg_sleep(10)"))
        assert getattr(caught.value.__cause__, "sqlstate", None) == "57014"  # query_canceled
        assert "statement timed out" in str(caught.value)


def test_pre_ping_replaces_a_connection_the_server_dropped(server: str) -> None:
    with _upgraded(_tenant(server, pool_size=1)) as engine:
        engine.deploy_text(RING, filename="ring.yaml")
        instance_id = engine.start("ring", WORKER).instance.id
        with engine.db.connect() as conn:
            backend_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
        admin.dispose()
        assert engine.fire(instance_id, "forward", WORKER).instance.version == 2


@dataclass(frozen=True)
class Named:
    """A migrated schema's URL whose connections carry a name of their own, to end them by."""

    url: str
    name: str


@pytest.fixture
def named(server: str) -> Named:
    name = f"wf_{uuid.uuid4().hex[:8]}"
    url = _tenant(server, application_name=name)
    _upgraded(url).close()
    return Named(url, name)


NO_PING = DatabaseOptions(pool_pre_ping=False)


def test_without_the_pre_ping_a_dead_connection_is_connection_lost(
    server: str, named: Named
) -> None:
    with Engine.open(named.url, options=NO_PING) as engine:
        assert not engine.db.pool._pre_ping  # type: ignore[attr-defined]
        assert engine.instances() == []  # a pooled connection, now idle
        assert end_connections(server, named.name) >= 1
        with pytest.raises(ConnectionLost, match=r"lost the connection|closed the connection"):
            engine.instances()


def test_retry_if_lost_reads_again_on_a_new_connection(server: str, named: Named) -> None:
    with Engine.open(named.url, options=NO_PING) as engine:
        engine.deploy_text(RING, filename="ring.yaml")
        engine.start("ring", WORKER)
        assert end_connections(server, named.name) >= 1
        assert len(engine.retry_if_lost(engine.instances)) == 1


def test_retry_if_lost_tries_once_more_not_for_ever(server: str, named: Named) -> None:
    calls = []
    with Engine.open(named.url, options=NO_PING) as engine:

        def lost_each_time() -> object:
            engine.instances()  # a connection in the pool...
            end_connections(server, named.name)  # ...ended before the next read
            calls.append(1)
            return engine.instances()

        with pytest.raises(ConnectionLost):
            engine.retry_if_lost(lost_each_time)
    assert len(calls) == 2


def test_retry_if_lost_fires_once_when_the_first_read_finds_the_connection_dead(
    server: str, named: Named
) -> None:
    with Engine.open(named.url, options=NO_PING) as engine:
        engine.deploy_text(RING, filename="ring.yaml")
        instance_id = engine.start("ring", WORKER).instance.id
        assert end_connections(server, named.name) >= 1
        fired = engine.retry_if_lost(lambda: engine.fire(instance_id, "forward", WORKER))
        assert fired.instance.version == 2
        assert len(engine.history(instance_id)) == 2  # started, forwarded: once


@pytest.mark.parametrize("credentials", ["token", "password", "session"])
def test_each_credentials_read_finds_a_new_connection_when_its_own_was_ended(
    server: str, named: Named, credentials: str
) -> None:
    """A request's first read, whatever its credentials: the service's pool does not ping."""
    with Engine.open(named.url, options=NO_PING) as engine:
        engine.add_actor("lan", ["clerk"], unit="A")
        add_user(engine, "lan", "lan", "correct horse battery", by="test")
        secret = create_token(engine, "lan", expires=timedelta(days=1), by="test").secret
        read = {
            "token": lambda: principal_for_token(engine, secret),
            "password": lambda: check_password(
                engine, "lan", "correct horse battery", throttle=LoginThrottle()
            ),
            "session": lambda: principal_for_user(engine, "lan"),
        }[credentials]
        assert end_connections(server, named.name) >= 1
        assert read().actor.id == "lan"


def test_schemas_keep_tenants_on_one_server_apart(server: str) -> None:
    with _upgraded(_tenant(server)) as first, _upgraded(_tenant(server)) as second:
        first.deploy_text(RING, filename="ring.yaml")
        first.start("ring", WORKER)
        assert len(first.instances()) == 1
        assert second.instances() == []
        assert second.deployed() == []


def test_a_schema_that_does_not_exist_is_refused_as_behind(server: str) -> None:
    with pytest.raises(SchemaOutOfDate, match="workflow db upgrade"):
        Engine.open(_tenant(server))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("pool_size=many", "whole number"),
        ("statement_timeout_ms=-5", "whole number"),
        ("schema=Tenant-A", "schema name"),
        ("schema=1tenant", "schema name"),
    ],
)
def test_bad_connection_options_are_refused(query: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Engine("postgresql+psycopg://nobody@127.0.0.1:1/none?" + query, check_schema=False)


def test_sqlite_pragmas_come_from_the_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}?journal_mode=delete&busy_timeout_ms=1234"
    with Engine.open(url) as engine, engine.db.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "delete"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 1234


def test_sqlite_lock_held_elsewhere_becomes_concurrent_modification(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with Engine.open(f"sqlite:///{path}?busy_timeout_ms=50") as engine:
        engine.deploy_text(RING, filename="ring.yaml")
        instance_id = engine.start("ring", WORKER).instance.id
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process's writer, holding the lock
        try:
            with pytest.raises(ConcurrentModification) as caught:
                engine.fire(instance_id, "forward", WORKER)
            assert "locked" not in str(caught.value)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert engine.fire(instance_id, "forward", WORKER).instance.version == 2


def test_a_fire_naming_its_version_does_not_queue_behind_a_row_being_changed(server: str) -> None:
    with _upgraded(_tenant(server)) as engine:
        engine.deploy_text(RING, filename="ring.yaml")
        instance_id = engine.start("ring", WORKER).instance.id
        with engine.db.connect() as other, other.begin():
            other.execute(  # another process, mid-transition on this instance
                text("SELECT id FROM instances WHERE id = :id FOR UPDATE"), {"id": instance_id}
            )
            with pytest.raises(ConcurrentModification) as caught:
                engine.fire(instance_id, "forward", WORKER, expected_version=1)
        assert caught.value.instance_id == instance_id
        assert engine.fire(instance_id, "forward", WORKER, expected_version=1).instance.version == 2
