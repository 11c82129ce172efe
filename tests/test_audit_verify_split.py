"""A large SQLite log is verified by several processes reading one snapshot
(``workflow._verification``): whatever the log holds, the report is the one a single process
gives, and where the split cannot be made the log is walked in one process."""

from __future__ import annotations

import sqlite3
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

import pytest
from audit_attacks import CASES, World, attack, build_world
from audit_cli_support import run
from sqlalchemy import func, select, text
from support import PAYMENT
from test_audit_tampering import CASES as TAMPERINGS
from test_audit_tampering import _drop_append_only_triggers

from workflow import Actor, Engine, FrozenClock, Registry
from workflow.errors import ConcurrentModification
from workflow.hashchain.keys import AuditKeys
from workflow.store.database import DatabaseOptions
from workflow.store.tables import audit_events
from workflow.store.transactions import write_transaction, writers_held


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """The split is SQLite's (PostgreSQL: one process, the last test)."""
    return str(request.param)


KEY = AuditKeys((b"split-key",))


def summary(engine: Engine, processes: int) -> tuple[Any, ...]:
    """Everything a report says, and how many processes walked the chains."""
    report = engine.verify(processes=processes)
    said = (
        report.chains, report.events, [str(p) for p in report.problems], report.admin_events,
        report.keyed_events, report.unkeyed_events,
    )  # fmt: skip
    return said, report.processes


def same_either_way(engine: Engine, processes: int = 2) -> tuple[Any, ...]:
    """The report walked by ``processes`` processes, once it is shown to be the one-process
    report."""
    alone, one = summary(engine, 1)
    split, walked_by = summary(engine, processes)
    assert (one, walked_by) == (1, processes)
    assert split == alone
    return split


@pytest.fixture(params=[None, KEY], ids=["unkeyed", "keyed"])
def keys(request: pytest.FixtureRequest) -> AuditKeys | None:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def split_engine(database_url: str, clock: FrozenClock, keys: AuditKeys | None) -> Iterator[Engine]:
    with Engine(
        database_url, clock=clock, registry=Registry(), audit_keys=keys,
        keys_from_environment=False,
    ) as engine:  # fmt: skip
        engine.deploy_text(PAYMENT, filename="payment.yaml")
        yield engine


@pytest.fixture
def world(split_engine: Engine) -> World:
    """Three chains (A, B, C), one a range when split three ways."""
    return build_world(split_engine)


def test_the_untouched_log_is_reported_alike(split_engine, world):
    chains, events, problems, *_ = same_either_way(split_engine, processes=3)
    assert (chains, events, problems) == (3, 8, [])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_attack_is_reported_alike(split_engine, world, case):
    attack(split_engine, case, world)
    problems = same_either_way(split_engine)[2]
    assert problems or (split_engine.audit_keys is None and not case.without_key)


@pytest.mark.parametrize(
    ("mutation", "needs_checkpoint", "_seq"), TAMPERINGS, ids=[m.__name__ for m, *_ in TAMPERINGS]
)
def test_every_tampering_is_reported_alike(split_engine, world, mutation, needs_checkpoint, _seq):
    with split_engine.db.begin() as conn:
        _drop_append_only_triggers(conn)
        mutation(conn, world.a)
    assert same_either_way(split_engine)[2] or needs_checkpoint


def test_an_instance_without_events_is_reported_in_its_range(split_engine, world):
    with split_engine.db.begin() as conn:
        _drop_append_only_triggers(conn)
        conn.execute(text("DELETE FROM outbox WHERE instance_id = :b"), {"b": world.b})
        conn.execute(audit_events.delete().where(audit_events.c.instance_id == world.b))
    problems = same_either_way(split_engine)[2]
    assert problems == [f"instance {world.b}, instance row: instance has no audit events"]


def raw_sql(engine: Engine, *statements: str) -> None:
    """Statements through sqlite3 itself, as an attacker with the file: foreign keys off (as
    by default), the append-only triggers dropped."""
    writer = sqlite3.connect(str(engine.db.url.database))
    with writer:
        for name in ("audit_events_no_update", "audit_events_no_delete"):
            writer.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in statements:
            writer.execute(statement)
    writer.close()


def test_an_instance_id_edited_to_text_is_reported_alike(split_engine, world):
    raw_sql(
        split_engine, f"UPDATE audit_events SET instance_id = 'x' WHERE instance_id = {world.a}"
    )
    assert same_either_way(split_engine)[2]


def test_an_event_without_an_instance_is_walked_in_one_process(split_engine, world):
    """A NULL instance id (the NOT NULL edited out of the schema) is no range's: the log is
    walked whole, as one process reports it."""
    raw_sql(
        split_engine,
        "PRAGMA writable_schema = ON",
        "UPDATE sqlite_master SET sql = replace(sql, 'instance_id INTEGER NOT NULL',"
        " 'instance_id INTEGER') WHERE name = 'audit_events'",
    )
    split_engine.db.dispose()  # the schema is read again
    raw_sql(split_engine, "UPDATE audit_events SET instance_id = NULL WHERE id = 1")
    alone, _ = summary(split_engine, 1)
    split, processes = summary(split_engine, 3)
    assert (split, processes) == (alone, 1)
    assert alone[2]


def test_progress_counts_every_process(split_engine, world):
    told: list[int] = []
    report = split_engine.verify(processes=2, progress=told.append)
    assert report.processes == 2
    assert told[-1] == report.events == 8
    assert told == sorted(told)


def test_a_helper_that_cannot_have_the_functions_leaves_its_range_to_this_process(
    database_url: str, clock: FrozenClock
) -> None:
    """A function of a module the helper cannot import (made in this process only): the helper
    fails, and its range is walked here, in the same snapshot: the report is whole."""
    module = types.ModuleType("split_only_here")

    def ok(ctx: Any) -> bool:
        return True

    ok.__module__, ok.__qualname__ = module.__name__, "ok"
    module.ok = ok  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        registry = Registry()
        registry.guard("ok")(ok)
        with Engine(database_url, clock=clock, registry=registry) as engine:
            engine.deploy_text(PAYMENT, filename="payment.yaml")
            build_world(engine)
            report = engine.verify(processes=3)
    finally:
        del sys.modules[module.__name__]
    assert (report.ok, report.chains, report.events, report.processes) == (True, 3, 8, 1)


def test_functions_defined_in_main_keep_the_walk_in_one_process(database_url, clock):
    registry = Registry()
    registry.guards["main"] = types.FunctionType(compile("lambda: 1", "<main>", "eval"), {})
    registry.guards["main"].__module__ = "__main__"
    with Engine(database_url, clock=clock, registry=registry) as engine:
        engine.deploy_text(PAYMENT, filename="payment.yaml")
        build_world(engine)
        report = engine.verify(processes=3)
    assert (report.ok, report.events, report.processes) == (True, 8, 1)


def test_while_a_writer_holds_the_lock_the_log_is_walked_in_one_process(
    split_engine, world, database_url
):
    """The snapshot is shared by holding the write lock: where it cannot be had (a writer
    keeps it past the busy timeout; a read-only file), one process walks the log, and says so."""
    expected = summary(split_engine, 1)[0]
    with Engine(
        database_url, options=DatabaseOptions(busy_timeout_ms=50), registry=Registry(),
        audit_keys=split_engine.audit_keys, keys_from_environment=False,
    ) as impatient:  # fmt: skip
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            assert summary(impatient, 3) == (expected, 1)
        finally:
            holder.execute("ROLLBACK")
            holder.close()


def test_writers_wait_while_the_lock_is_held_and_go_on_after(split_engine, world):
    """What makes one snapshot of several processes: no writer commits between the lock and
    its release (the release gives it back without writing)."""
    impatient = Engine(
        split_engine.url, options=DatabaseOptions(busy_timeout_ms=50), registry=Registry()
    )
    try:
        with writers_held(split_engine.db) as release:
            assert release is not None
            with pytest.raises(ConcurrentModification), write_transaction(impatient.db) as conn:
                conn.execute(text("DELETE FROM outbox WHERE 0"))
            release()
            with write_transaction(impatient.db) as conn:
                conn.execute(text("DELETE FROM outbox WHERE 0"))
    finally:
        impatient.close()


def test_a_split_walk_beside_writers_reports_one_moment(split_engine, world):
    """Fires go on while three processes verify: the report is of one moment (every chain
    whole, the events between those before and after), never a problem."""
    clerk = Actor("clerk-1", ["clerk"])
    ids = [split_engine.start("payment", clerk).instance.id for _ in range(30)]
    stop = threading.Event()

    def fire() -> None:
        paid = 0
        while not stop.is_set():
            paid += 1
            split_engine.fire(ids[paid % len(ids)], "pay", clerk, payload={"paid": 1})

    def events() -> int:
        with split_engine.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_events)).scalar_one())

    writer = threading.Thread(target=fire)
    writer.start()
    try:
        reports = []
        for _ in range(3):
            before = events()
            reports.append((before, split_engine.verify(processes=3), events()))
    finally:
        stop.set()
        writer.join()
    for before, report, after in reports:
        assert report.ok, report.problems
        assert report.processes == 3
        assert before <= report.events <= after


def test_the_command_line_splits_when_asked_and_says_so(split_engine, world, database_url):
    result = run(database_url, "audit", "verify", "--processes", "2", "--json")
    assert result.code == 0
    assert (result.json()["events"], result.json()["processes"]) == (8, 2)


def test_a_small_log_is_walked_in_one_process_by_default(split_engine, world):
    report = split_engine.verify()
    assert (report.ok, report.processes) == (True, 1)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_is_walked_in_one_process(payment):
    build_world(payment)
    report = payment.verify(processes=3)
    assert (report.ok, report.events, report.processes) == (True, 8, 1)
