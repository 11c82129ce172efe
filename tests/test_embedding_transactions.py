"""The application's transaction: the engine built over the application's own SQLAlchemy engine,
and start and fire joining a transaction the application opened (a Connection or an ORM
Session): with commit, the application's row and the transition land together; with rollback,
neither (no instance change, no audit row, no outbox row) and the chain stays intact."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from embedding_support import App, application
from sqlalchemy.orm import Session
from support import PAYMENT

from workflow import (
    Actor,
    ConcurrentModification,
    Engine,
    FrozenClock,
    GuardFailed,
    InvalidInput,
    Registry,
    SchemaOutOfDate,
    UnknownTrigger,
)
from workflow.events import EventBus, dispatch_pending, list_events
from workflow.timers import list_timers

CLERK = Actor("clerk-1", ["clerk"])


class Boom(Exception):
    """The application's own failure after the fire."""


def _fail_after(db: sa.Engine, body: Callable[[sa.Connection], object]) -> None:
    with db.begin() as conn:
        body(conn)
        raise Boom


def _rolled_back(db: sa.Engine, body: Callable[[sa.Connection], object]) -> None:
    """``body`` in a transaction of the application's, which then fails and rolls back."""
    with pytest.raises(Boom):
        _fail_after(db, body)


@pytest.fixture
def app(database_url: str, clock: FrozenClock, registry: Registry) -> Iterator[App]:
    with application(database_url, clock, registry) as made:
        made.workflow.deploy_text(PAYMENT, filename="payment.yaml")
        yield made


def _snapshot(engine: Engine, instance_id: int) -> tuple[object, ...]:
    instance = engine.get(instance_id)
    return (
        instance.state,
        instance.version,
        len(engine.history(instance_id)),
        len(list_events(engine, instance_id=instance_id)),
    )


def test_a_fire_commits_with_the_applications_own_row(app: App) -> None:
    instance_id = app.workflow.start("payment", CLERK).instance.id
    with app.db.begin() as conn:
        conn.execute(sa.insert(app.uploads).values(name="receipt.pdf"))
        result = app.workflow.fire(instance_id, "pay", CLERK, payload={"paid": 120}, within=conn)
        assert result.instance.version == 2
    assert app.upload_names() == ["receipt.pdf"]
    assert _snapshot(app.workflow, instance_id) == ("paid", 2, 2, 2)
    assert app.workflow.verify().ok


def test_a_rollback_leaves_no_transition_and_the_chain_intact(app: App) -> None:
    instance_id = app.workflow.start("payment", CLERK).instance.id
    before = _snapshot(app.workflow, instance_id)

    def upload_and_pay(conn: sa.Connection) -> None:
        conn.execute(sa.insert(app.uploads).values(name="receipt.pdf"))
        app.workflow.fire(instance_id, "pay", CLERK, payload={"paid": 50}, within=conn)
        # the application sees its transition inside its own transaction...
        assert app.workflow.get(instance_id, within=conn).version == 2

    _rolled_back(app.db, upload_and_pay)
    # ...and after its rollback nothing of it is left
    assert app.upload_names() == []
    assert _snapshot(app.workflow, instance_id) == before
    assert app.workflow.verify().ok
    # the chain goes on from where it was: no head, id or version remembered from the rollback
    done = app.workflow.fire(instance_id, "pay", CLERK, payload={"paid": 120})
    assert (done.instance.version, done.event.seq) == (2, 2)
    assert app.workflow.verify().ok


def test_only_what_the_application_commits_is_announced(app: App) -> None:
    """The outbox is delivered from committed rows: a rolled-back fire is never announced, a
    committed one is, once."""
    heard: list[str] = []
    bus = EventBus()
    bus.on("payment.*.*", lambda event: heard.append(event.topic), name="listener")
    instance_id = app.workflow.start("payment", CLERK).instance.id
    dispatch_pending(app.workflow, bus)
    _rolled_back(
        app.db,
        lambda conn: app.workflow.fire(instance_id, "pay", CLERK, payload={"paid": 100},
                                       within=conn),
    )  # fmt: skip
    dispatch_pending(app.workflow, bus)
    assert heard == ["payment.start.open"]
    with app.db.begin() as conn:
        app.workflow.fire(instance_id, "pay", CLERK, payload={"paid": 100}, within=conn)
    dispatch_pending(app.workflow, bus)
    assert heard == ["payment.start.open", "payment.pay.paid"]


def test_a_start_rolled_back_leaves_no_instance(app: App) -> None:
    _rolled_back(app.db, lambda conn: app.workflow.start("payment", CLERK, within=conn))
    assert app.workflow.instances() == []
    assert list_events(app.workflow) == []
    again = app.workflow.start("payment", CLERK).instance
    assert again.version == 1
    assert app.workflow.fire(again.id, "pay", CLERK, payload={"paid": 100}).state == "paid"
    assert app.workflow.verify().ok


def test_an_orm_session_carries_the_fire(app: App) -> None:
    instance_id = app.workflow.start("payment", CLERK).instance.id
    with Session(app.db) as session, session.begin():
        session.execute(sa.insert(app.uploads).values(name="a.pdf"))
        app.workflow.fire(instance_id, "pay", CLERK, payload={"paid": 100}, within=session)
    assert app.upload_names() == ["a.pdf"]
    assert app.workflow.get(instance_id).state == "paid"

    other = app.workflow.start("payment", CLERK).instance.id
    with Session(app.db) as session:
        session.execute(sa.insert(app.uploads).values(name="b.pdf"))
        app.workflow.fire(other, "pay", CLERK, payload={"paid": 100}, within=session)
        session.rollback()
    assert app.upload_names() == ["a.pdf"]
    assert app.workflow.get(other).version == 1
    assert app.workflow.verify().ok


def test_a_refused_fire_undoes_only_its_own_work(app: App) -> None:
    """A guard's refusal, or the optimistic version check, inside the application's
    transaction: the application's row stays, its transaction goes on and commits."""
    instance_id = app.workflow.start("payment", CLERK).instance.id
    with app.db.begin() as conn:
        conn.execute(sa.insert(app.uploads).values(name="kept.pdf"))
        with pytest.raises(GuardFailed):
            app.workflow.fire(instance_id, "pay", CLERK, payload={}, within=conn)
        with pytest.raises(ConcurrentModification):
            app.workflow.fire(
                instance_id, "pay", CLERK, payload={"paid": 1}, expected_version=7, within=conn
            )
        conn.execute(sa.insert(app.uploads).values(name="after.pdf"))
    assert sorted(app.upload_names()) == ["after.pdf", "kept.pdf"]
    assert app.workflow.get(instance_id).version == 1
    assert app.workflow.verify().ok


def test_timers_written_in_the_applications_transaction_roll_back_with_it(
    database_url: str, clock: FrozenClock, registry: Registry
) -> None:
    timed = (
        PAYMENT.replace("  open: {initial: true}", "  open: {initial: true, timers: [TIMER]}")
        .replace("TIMER", "{trigger: cancel, after: P3D}")
        .replace("    require_reason: true\n", "")
        .replace("roles: [clerk, auditor]", "roles: [clerk, auditor, system]")
    )
    with application(database_url, clock, registry) as app:
        app.workflow.deploy_text(timed)
        _rolled_back(app.db, lambda conn: app.workflow.start("payment", CLERK, within=conn))
        assert list_timers(app.workflow) == []
        with app.db.begin() as conn:
            app.workflow.start("payment", CLERK, within=conn)
        assert len(list_timers(app.workflow)) == 1


def test_the_applications_statements_after_a_fire_see_its_own_tables(app: App) -> None:
    """The workflow's schema is current only inside the engine's own statements."""
    instance_id = app.workflow.start("payment", CLERK).instance.id
    with app.db.begin() as conn:
        before = _search_path(conn)
        app.workflow.fire(instance_id, "pay", CLERK, payload={"paid": 100}, within=conn)
        assert _search_path(conn) == before
        conn.execute(sa.insert(app.uploads).values(name="x"))
    assert app.upload_names() == ["x"]


def _search_path(conn: sa.Connection) -> str | None:
    if conn.dialect.name != "postgresql":
        return None
    return str(conn.exec_driver_sql("SHOW search_path").scalar_one())


def test_a_connection_of_another_database_is_refused(app: App, tmp_path) -> None:
    other = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    instance_id = app.workflow.start("payment", CLERK).instance.id
    with other.begin() as conn, pytest.raises(InvalidInput, match="not of this engine"):
        app.workflow.fire(instance_id, "pay", CLERK, payload={"paid": 100}, within=conn)
    with pytest.raises(InvalidInput, match="Connection or Session"):
        app.workflow.fire(instance_id, "pay", CLERK, within="conn")  # type: ignore[arg-type]
    other.dispose()


def test_the_engines_own_pool_joins_too(payment: Engine, clerk: Actor) -> None:
    """An application using the engine's own database engine opens the transaction there."""
    instance_id = payment.start("payment", clerk).instance.id
    with payment.db.connect() as conn:
        payment.fire(instance_id, "pay", clerk, payload={"paid": 100}, within=conn)
        conn.rollback()
    assert payment.get(instance_id).version == 1
    with payment.db.connect() as conn:
        payment.fire(instance_id, "pay", clerk, payload={"paid": 100}, within=conn)
        conn.commit()
    assert payment.get(instance_id).state == "paid"
    assert payment.verify().ok


def test_an_unmigrated_schema_is_refused_until_upgraded(backend: str, request) -> None:
    """The engine never migrates the application's database by itself."""
    if backend == "sqlite":
        path = request.getfixturevalue("tmp_path") / "app.db"
        app_db = sa.create_engine(f"sqlite:///{path}")
        schema = None
    else:
        import uuid

        from sqlalchemy.engine import make_url

        server = request.getfixturevalue("postgres_server_url")
        app_db = sa.create_engine(make_url(server))
        schema = f"wf_{uuid.uuid4().hex[:10]}"
    with pytest.raises(SchemaOutOfDate):
        Engine.from_sqlalchemy(app_db, schema=schema)
    setup = Engine.from_sqlalchemy(app_db, schema=schema, check_schema=False)
    setup.upgrade_schema()
    with Engine.from_sqlalchemy(app_db, schema=schema) as ready:
        assert ready.schema_revision()[0] == ready.schema_revision()[1]
    app_db.dispose()


def test_a_transaction_without_savepoints_commits_whole_or_not_at_all(
    payment: Engine, clerk: Actor
) -> None:
    """``begin(savepoints=False)`` (the service's fire: the token's read and the fire in one
    transaction): the verbs run in it directly; one refused spoils it, another verb is then
    refused, and the block's end rolls back everything, the earlier fire included."""
    first, second, third = (payment.start("payment", clerk).instance.id for _ in range(3))
    with payment.begin(savepoints=False) as conn:
        payment.fire(first, "pay", clerk, payload={"paid": 100}, within=conn)
        payment.fire(second, "pay", clerk, payload={"paid": 10}, within=conn)
    assert (payment.get(first).state, payment.get(second).version) == ("paid", 2)
    spoiled = _spoiled(payment, third, clerk)
    assert isinstance(spoiled.__context__, UnknownTrigger)
    assert payment.get(third).version == 1
    fresh = Engine.open(payment.url, clock=payment.clock)
    # a process that has not compiled the definition yet compiles it and fires again
    with fresh, fresh.begin(savepoints=False) as conn:
        fresh.fire(third, "pay", clerk, payload={"paid": 100}, within=conn)
    assert payment.get(third).state == "paid"
    assert payment.verify().ok


def _spoiled(engine: Engine, instance_id: int, clerk: Actor) -> InvalidInput:
    """A fire that applies, one refused, then a third, refused as the transaction is spoiled;
    the refusal ends the block, which rolls back."""
    spoiled = None
    try:
        with engine.begin(savepoints=False) as conn:
            engine.fire(instance_id, "pay", clerk, payload={"paid": 10}, within=conn)
            try:
                engine.fire(instance_id, "explode", clerk, within=conn)
            finally:
                try:
                    engine.fire(instance_id, "pay", clerk, payload={"paid": 5}, within=conn)
                except InvalidInput as refused:
                    spoiled = refused
    except UnknownTrigger:
        assert spoiled is not None
        return spoiled
    raise AssertionError("the unknown trigger was not refused")
