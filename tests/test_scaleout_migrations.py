"""Schema migrations hold up (issue 5): models and migrations agree, old databases upgrade with
their data, and a database behind the code is refused with the command that fixes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from scaleout_procs import RING, WORKER
from sqlalchemy import MetaData, insert, inspect, text
from support import START, postgres_schema_url

from cli.main import main
from workflow import Engine, SchemaOutOfDate
from workflow.catalog import content_hash
from workflow.hashchain.admin_log import admin_record
from workflow.hashchain.encoding import GENESIS
from workflow.hashchain.sealing import audit_record
from workflow.store import migrate
from workflow.store.database import create_database_engine
from workflow.store.tables import metadata


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate._config())


FIRST = _scripts().get_base()


@pytest.fixture
def blank_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database nobody has migrated: no tables at all."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'blank.db'}"
    return postgres_schema_url(request.getfixturevalue("postgres_server_url"))


@pytest.fixture
def blank_db(blank_url: str) -> Iterator[object]:
    db = create_database_engine(blank_url)
    yield db
    db.dispose()


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_migrations_are_the_only_way_tables_are_made(blank_db: object) -> None:
    migrate.upgrade(blank_db)  # type: ignore[arg-type]
    tables = set(inspect(blank_db).get_table_names())  # type: ignore[arg-type]
    assert tables == set(metadata.tables) | {"alembic_version"}


NOTED_RING = RING.replace("states:", "fields:\n  note: {type: string}\nstates:", 1)
"""The ring with a field, so the seeded instance's data is data the engine would accept."""


def _seed_at_first_revision(db: object) -> int:
    """Write a deployed definition, an instance and its start event with the first schema only."""
    old = MetaData()
    old.reflect(db)  # type: ignore[arg-type]
    start = audit_record(
        instance_id=1,
        seq=1,
        kind="start",
        trigger=None,
        from_state=None,
        to_state="a",
        actor=WORKER.id,
        actor_roles=["worker"],
        actor_unit=None,
        reason=None,
        payload={},
        data={"note": "trước khi nâng cấp"},
        workflow="ring",
        definition_version=1,
        definition_hash=content_hash(NOTED_RING, "ring.yaml"),
        occurred_at=START,
        prev_hash=GENESIS,
    )
    rows = {
        "workflows": {"name": "ring", "disabled": False, "created_at": START},
        "definitions": {
            "id": 1,
            "workflow": "ring",
            "version": 1,
            "content_hash": start["definition_hash"],
            "source_text": NOTED_RING,
            "source_file": "ring.yaml",
            "retired": False,
            "deployed_at": START,
            "deployed_by": "admin",
        },
        "instances": {
            "id": 1,
            "workflow": "ring",
            "definition_version": 1,
            "state": "a",
            "data": {"note": "trước khi nâng cấp"},
            "version": 1,
            "active": True,
            "unit": None,
            "coordinating_units": [],
            "created_at": START,
            "updated_at": START,
            "last_hash": start["hash"],
        },
        "audit_events": start,
        "actors": {"id": WORKER.id, "roles": ["worker"], "created_at": START},
    }
    # The administrators' log recorded the deployment and the registration, as the engine does.
    deploy = admin_record(
        seq=1,
        action="deploy",
        subject="ring@1",
        actor="admin",
        detail={"content_hash": start["definition_hash"], "file": "ring.yaml"},
        occurred_at=START,
        prev_hash=GENESIS,
    )
    registered = admin_record(
        seq=2,
        action="actor",
        subject=WORKER.id,
        actor="admin",
        detail={"roles": ["worker"], "unit": None},
        occurred_at=START,
        prev_hash=deploy["hash"],
    )
    with db.begin() as conn:  # type: ignore[attr-defined]
        for name, values in [*rows.items(), ("admin_events", deploy), ("admin_events", registered)]:
            table = old.tables[name]
            conn.execute(insert(table).values({k: v for k, v in values.items() if k in table.c}))
    return 1


def test_upgrade_from_the_first_migration_keeps_the_data(blank_url: str, blank_db: object) -> None:
    migrate.upgrade(blank_db, FIRST)  # type: ignore[arg-type]
    instance_id = _seed_at_first_revision(blank_db)
    migrate.upgrade(blank_db)  # type: ignore[arg-type]

    with Engine.open(blank_url) as engine:
        assert engine.schema_revision()[0] == migrate.head_revision()
        instance = engine.get(instance_id)
        assert (instance.state, instance.version) == ("a", 1)
        assert instance.data == {"note": "trước khi nâng cấp"}
        assert engine.verify().ok
        moved = engine.fire(instance_id, "forward", WORKER).instance
        assert (moved.state, moved.version) == ("b", 2)
        assert engine.verify().ok


def _behind(db: object) -> str | None:
    """Migrate to the revision just before head (none at all when head is the first)."""
    head = _scripts().get_revision(migrate.head_revision())
    previous = head.down_revision if head is not None else None
    assert previous is None or isinstance(previous, str)
    if previous is not None:
        migrate.upgrade(db, previous)  # type: ignore[arg-type]
    return previous


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_server_behind_the_code_is_refused_and_never_migrated(
    blank_url: str, blank_db: object
) -> None:
    previous = _behind(blank_db)
    with pytest.raises(SchemaOutOfDate, match="run `workflow db upgrade`") as caught:
        Engine.open(blank_url)
    assert (caught.value.current, caught.value.head) == (previous, migrate.head_revision())
    assert migrate.current_revision(blank_db) == previous  # type: ignore[arg-type]


def test_a_sqlite_file_with_tables_but_behind_is_not_migrated_implicitly(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = create_database_engine(url)
    migrate.upgrade(db, FIRST)
    with db.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))  # tables, but no known revision
    db.dispose()
    with pytest.raises(SchemaOutOfDate):
        Engine.open(url)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out + err


def test_db_current_reports_a_schema_behind_and_upgrade_fixes_it(
    blank_url: str, blank_db: object, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = _behind(blank_db)
    code, out = _cli(capsys, "--db", blank_url, "db", "current")
    assert code == 0
    assert f"database at revision {previous or 'none'}" in out
    assert "behind: run `workflow db upgrade`" in out

    code, out = _cli(capsys, "--db", blank_url, "db", "upgrade")
    assert (code, migrate.head_revision() in out) == (0, True)
    code, out = _cli(capsys, "--db", blank_url, "db", "current")
    assert "up to date" in out


def test_a_database_newer_than_the_code_is_refused_without_advice_to_upgrade(
    engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with engine.db.begin() as conn:  # as if a newer release had migrated it
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
    with pytest.raises(SchemaOutOfDate, match="newer than this version") as caught:
        Engine.open(database_url)
    assert caught.value.ahead
    code, out = _cli(capsys, "--db", database_url, "db", "current")
    assert (code, "newer than this version of workflow" in out) == (0, True)
    code, out = _cli(capsys, "--db", database_url, "db", "upgrade")
    assert code == 2
    assert "run the newer version of workflow" in out


def test_upgrading_to_one_lease_vocabulary_keeps_both_queues_rows(
    blank_url: str, blank_db: object
) -> None:
    """Migration 0005: a claimed timer becomes leased (its owner in ``lease_owner``), a failed
    one dead, a pending one stays; the outbox's rows, already in these words, are untouched."""
    migrate.upgrade(blank_db, "0004")  # type: ignore[arg-type]
    instance_id = _seed_at_first_revision(blank_db)
    old = MetaData()
    old.reflect(blank_db)  # type: ignore[arg-type]
    lease_end = START + timedelta(minutes=5)
    timer = {"instance_id": instance_id, "state": "a", "trigger": "forward", "due_at": START,
             "entered_version": 1, "attempts": 1, "created_at": START, "claimed_by": None,
             "lease_expires_at": None, "last_error": None}
    with blank_db.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(old.tables["timers"]), [
            {**timer, "status": "claimed", "claimed_by": "w-1", "lease_expires_at": lease_end},
            {**timer, "status": "failed", "last_error": "refused"},
            {**timer, "status": "pending", "attempts": 0},
        ])
        conn.execute(insert(old.tables["outbox"]).values(
            audit_id=1, instance_id=instance_id, topic="ring.start.a", status="leased",
            attempts=2, next_attempt_at=START, lease_owner="d-1", lease_expires_at=lease_end,
            last_error="timeout", created_at=START,
        ))  # fmt: skip
    migrate.upgrade(blank_db)  # type: ignore[arg-type]

    with blank_db.connect() as conn:  # type: ignore[attr-defined]
        timers = conn.execute(text(
            "SELECT status, lease_owner, lease_expires_at IS NOT NULL, last_error, attempts"
            " FROM timers ORDER BY id"
        )).all()  # fmt: skip
        outbox = conn.execute(text(
            "SELECT status, lease_owner, attempts, last_error FROM outbox"
        )).all()  # fmt: skip
    assert [tuple(r) for r in timers] == [
        ("leased", "w-1", True, None, 1),
        ("dead", None, False, "refused", 1),
        ("pending", None, False, None, 0),
    ]
    assert [tuple(r) for r in outbox] == [("leased", "d-1", 2, "timeout")]
    with Engine.open(blank_url) as engine:
        assert engine.verify().ok
