"""An engine on its own SQLite file keeps one write connection for its uncontended writes: a
write that finds it taken waits for SQLite's lock on a pooled connection as before, a refused
write leaves it clean, a failure in doubt replaces it, and closing (or collecting) the engine
closes it."""

from __future__ import annotations

import gc
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from support import PAYMENT

from workflow import Actor, ConcurrentModification, Engine, GuardFailed
from workflow.store.held_writer import held_writer

CLERK = Actor("clerk-1", ["clerk"])


@pytest.fixture
def sqlite_file(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "workflow.db"
    shutil.copyfile(sqlite_template, path)
    return path


@pytest.fixture
def payment_on_file(sqlite_file: Path, clock: Any) -> Iterator[Engine]:
    # busy_timeout_ms=0: a write that waits for SQLite's lock fails at once instead
    with Engine.open(f"sqlite:///{sqlite_file}?busy_timeout_ms=0", clock=clock) as engine:
        engine.deploy_text(PAYMENT, filename="payment.yaml")
        yield engine


def _driver(conn: Any) -> Any:
    return conn.connection.driver_connection


def _closed(driver: sqlite3.Connection) -> bool:
    try:
        driver.execute("SELECT 1")
    except sqlite3.ProgrammingError:  # "Cannot operate on a closed database."
        return True
    return False


def test_the_engines_writes_share_one_connection_idle_between_them(payment_on_file: Engine):
    engine = payment_on_file
    seen = []
    for _ in range(3):
        with engine.transaction() as conn:
            seen.append(_driver(conn))
            assert _driver(conn).in_transaction
        assert not seen[-1].in_transaction  # committed: no transaction, no lock held
    assert seen[0] is seen[1] is seen[2]
    assert engine.db.pool.checkedout() == 0  # the engine's pool counts only what a call holds
    started = engine.start("payment", CLERK)
    fired = engine.fire(started.instance.id, "pay", CLERK, payload={"paid": 150})
    assert fired.instance.version == 2


def test_its_commits_and_rollbacks_are_announced_to_the_engines_listeners(
    payment_on_file: Engine,
):
    """As through SQLAlchemy, before the driver commits or rolls back (the crash harness kills
    a fire from the commit listener)."""
    engine = payment_on_file
    seen: list[tuple[str, bool]] = []

    def listener(name: str) -> Any:
        return lambda conn: seen.append((name, _driver(conn).in_transaction))

    for name in ("commit", "rollback"):
        event.listen(engine.db, name, listener(name))
    with engine.transaction():
        pass
    instance_id = engine.start("payment", CLERK).instance.id
    with pytest.raises(GuardFailed):
        engine.fire(instance_id, "pay", CLERK, payload={})
    assert seen == [("commit", True), ("commit", True), ("rollback", True)]


def test_a_write_inside_a_write_waits_for_the_lock_as_before(payment_on_file: Engine):
    """The kept connection is taken, so the inner write takes a pooled one and waits for
    SQLite's write lock, which the outer holds (busy timeout 0: refused at once)."""
    engine = payment_on_file
    instance_id = engine.start("payment", CLERK).instance.id
    with engine.transaction() as outer:
        with pytest.raises(ConcurrentModification), engine.transaction() as inner:
            assert _driver(inner) is not _driver(outer)  # pragma: no cover - not reached
        outer.execute(text("UPDATE instances SET unit = 'u1' WHERE id = :id"), {"id": instance_id})
    assert engine.get(instance_id).unit == "u1"


def test_a_refused_fire_leaves_the_connection_clean_and_kept(payment_on_file: Engine):
    engine = payment_on_file
    instance_id = engine.start("payment", CLERK).instance.id
    with engine.transaction() as conn:
        before = _driver(conn)
    with pytest.raises(GuardFailed):
        engine.fire(instance_id, "pay", CLERK, payload={})
    with engine.transaction() as conn:
        assert _driver(conn) is before
    assert [e.seq for e in engine.history(instance_id)] == [1]
    assert engine.fire(instance_id, "pay", CLERK, payload={"paid": 150}).instance.version == 2


def _break_midway(engine: Engine, instance_id: int, seen: list[Any]) -> None:
    with engine.transaction() as conn:
        seen.append(_driver(conn))
        conn.execute(text("UPDATE instances SET unit = 'lost' WHERE id = :id"), {"id": instance_id})
        conn.invalidate()
        raise RuntimeError("the connection broke")


def test_a_failure_that_leaves_it_in_doubt_replaces_it(payment_on_file: Engine):
    engine = payment_on_file
    instance_id = engine.start("payment", CLERK).instance.id
    seen: list[Any] = []
    with pytest.raises(RuntimeError):
        _break_midway(engine, instance_id, seen)
    with engine.transaction() as conn:
        assert _driver(conn) is not seen[0]
    assert engine.get(instance_id).unit is None  # the broken transaction wrote nothing


def test_closing_the_engine_closes_it_and_a_collected_engine_too(sqlite_file: Path, clock: Any):
    url = f"sqlite:///{sqlite_file}"
    with Engine.open(url, clock=clock) as engine, engine.transaction() as conn:
        kept = _driver(conn)
    assert _closed(kept)

    unclosed = Engine.open(url, clock=clock)
    with unclosed.transaction() as conn:
        kept = _driver(conn)
    assert not _closed(kept)
    del unclosed, conn
    gc.collect()  # no "non-checked-in connection" warning: the suite turns warnings into errors
    assert _closed(kept)


def test_an_engine_closed_and_used_again_opens_it_again(sqlite_file: Path, clock: Any):
    engine = Engine.open(f"sqlite:///{sqlite_file}", clock=clock)
    with engine.transaction() as conn:
        first = _driver(conn)
    engine.close()
    with engine.transaction() as conn:
        assert _driver(conn) is not first
    engine.close()
    assert _closed(first)


def test_only_an_engines_own_sqlite_file_keeps_one(database_url: str, clock: Any):
    with Engine.open(database_url, clock=clock) as engine:
        kept = held_writer(engine.db)
        assert (kept is not None) == database_url.startswith("sqlite:///")
    with Engine.open("sqlite://", clock=clock) as in_memory:  # one connection for everything
        assert held_writer(in_memory.db) is None
