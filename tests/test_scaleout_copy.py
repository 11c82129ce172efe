"""``workflow db copy`` (issue 5): a SQLite database moved, row for row, to an empty database on
either backend, then verified there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from scaleout_procs import RING, WORKER
from sqlalchemy import func, insert, select
from support import PAYMENT, START
from test_timers_basic import REMINDERS

from cli.main import main
from workflow import Actor, Engine, FrozenClock, InvalidInput
from workflow.admin import copy_database
from workflow.store.tables import directives, instances, metadata, units


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite database with a row in every table the engine writes."""
    with Engine.open(f"sqlite:///{tmp_path / 'source.db'}", clock=FrozenClock(START)) as engine:
        engine.deploy_text(RING, filename="ring.yaml")
        engine.deploy_text(PAYMENT, filename="payment.yaml")
        engine.deploy_text(REMINDERS, filename="reminders.yaml")
        clerk = engine.add_actor("clerk-1", ["clerk"], unit="phong_1", name="Nguyễn Văn A")
        with engine.transaction() as conn:
            conn.execute(
                insert(units).values(
                    code="phong_1",
                    name_vi="Phòng 1",
                    name_en="Office 1",
                    kind="office",
                    parent_code=None,
                )
            )
            conn.execute(
                insert(directives).values(
                    number="12-CT/TU",
                    issuing_body="Tỉnh ủy",
                    place="Hà Nội",
                    issued_on="2020-09-07",
                    subject="Chỉ thị",
                    timezone="Asia/Ho_Chi_Minh",
                    document={"items": ["một", "hai"]},
                    content_hash="0" * 64,
                    imported_at=START,
                    imported_by="admin",
                )
            )
        ring = engine.start("ring", WORKER).instance.id
        engine.fire(ring, "forward", WORKER, idempotency_key="k-1")
        paid = engine.start("payment", clerk, data={"amount": 150}, unit="phong_1").instance.id
        engine.fire(paid, "pay", clerk, payload={"paid": 150, "note": "đã trả"})
        engine.start(
            "reminders",
            Actor("d", ["drafter"]),
            data={"deadline": (START + timedelta(days=5)).isoformat()},
        )
        yield engine


def _rows(engine: Engine) -> dict[str, list[dict[str, object]]]:
    with engine.db.connect() as conn:
        return {
            t.name: [
                dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key.columns))
            ]
            for t in metadata.sorted_tables
        }


def test_copy_moves_every_row_and_the_target_verifies(source: Engine, database_url: str) -> None:
    report = copy_database(source, database_url)
    print(f"\ncopy: {dict(report.rows)}")
    assert report.ok
    with Engine.open(database_url, clock=FrozenClock(START)) as target:
        assert _rows(target) == _rows(source)
        assert all(
            report.rows[name]
            for name in (
                "definitions",
                "instances",
                "audit_events",
                "timers",
                "outbox",
                "actors",
                "units",
                "directives",
                "admin_events",
                "idempotency_keys",
                "workflows",
            )
        )
        assert target.verify().ok
        # the ids the copy wrote do not collide with the ones the target hands out next
        newest = target.start("ring", WORKER).instance.id
        assert newest == max(i.id for i in source.instances()) + 1


def test_copy_into_a_database_without_tables_creates_the_schema(
    source: Engine, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert copy_database(source, url).ok
    with Engine.open(url) as target:
        assert target.schema_revision()[0] == target.schema_revision()[1]
        assert len(target.instances()) == len(source.instances())


def test_copy_refuses_a_target_that_has_rows(source: Engine, database_url: str) -> None:
    with Engine.open(database_url) as target:
        target.deploy_text(RING, filename="ring.yaml")
    with pytest.raises(InvalidInput, match="not empty"):
        copy_database(source, database_url)
    with Engine.open(database_url) as target, target.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(instances)).scalar_one() == 0


def test_copy_refuses_to_copy_a_database_onto_itself(source: Engine) -> None:
    with pytest.raises(InvalidInput, match="is the source"):
        copy_database(source, source.url)


def test_cli_db_copy_then_audit_verify_on_the_target(
    source: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*argv: str) -> int:
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        return int(exited.value.code or 0)

    assert run("--db", source.url, "db", "copy", "--to", database_url) == 0
    out = capsys.readouterr().out
    assert "audit verify ok" in out
    assert "audit_events" in out
    assert run("--db", database_url, "audit", "verify") == 0
    assert capsys.readouterr().out.startswith("ok: 3 chains")
    assert run("--db", source.url, "db", "copy", "--to", database_url) == 2
    assert "not empty" in capsys.readouterr().err
