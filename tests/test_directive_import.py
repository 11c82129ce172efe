"""Importing 19-CV/ĐUK: fan-out, idempotency, deadlines as written, unit scoping, chaining."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from directive_support import (
    DIRECTIVE,
    FAN_OUT_WORKFLOWS,
    NUMBER,
    deploy,
    few_units,
    imported,
    plan,
    secretary,
    sqlite_copy,
)
from sqlalchemy import func, select

from workflow import Actor, Engine, FrozenClock, NotFound, PermissionDenied
from workflow.directives import (
    DirectiveConflict,
    DirectiveFileError,
    directive_report,
    import_directive,
    import_units,
    parse_deadline,
)
from workflow.store.tables import directives, instances

SMALL = {"1": 3, "2.1": 3, "2.2": 3, "4.1": 1, "4.2": 1}


@pytest.fixture
def domain(tmp_path: Path, clock: FrozenClock) -> Iterator[Engine]:
    """SQLite, for behaviours of the directive layer itself (those of the store run on both)."""
    with sqlite_copy(tmp_path, clock, units=True) as engine:
        yield engine


def count(engine, table, *where) -> int:
    with engine.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_import_starts_one_instance_per_addressed_unit_and_item(engine, tmp_path):
    deploy(engine, *FAN_OUT_WORKFLOWS)
    import_units(engine, few_units(tmp_path))
    result = import_directive(engine, DIRECTIVE)
    assert dict(result.started) == SMALL
    assert count(engine, instances) == sum(SMALL.values())
    plans = engine.instances(workflow="plan_drafting", directive_id=result.directive.id)
    assert {i.item_key for i in plans} == {"2.1", "2.2"}


def test_second_import_of_the_same_number_changes_nothing_and_says_so(engine, tmp_path):
    imported(engine, few_units(tmp_path))
    again = import_directive(engine, DIRECTIVE)
    assert not again.created
    assert "already imported" in again.message
    assert "nothing changed" in again.message
    assert count(engine, instances) == sum(SMALL.values())
    assert count(engine, directives) == 1


def test_same_number_with_other_content_is_refused_and_changes_nothing(domain, tmp_path):
    engine = domain
    import_directive(engine, DIRECTIVE)
    edited = tmp_path / "edited.yaml"
    edited.write_text(
        DIRECTIVE.read_text(encoding="utf-8").replace("Võ Văn Kiệt", "Người khác"),
        encoding="utf-8",
    )
    with pytest.raises(DirectiveConflict, match="already imported from different content"):
        import_directive(engine, edited)
    assert count(engine, instances) == sum(SMALL.values())


def test_import_is_all_or_nothing(engine, tmp_path):
    deploy(engine, "plan_drafting", "dissemination")  # items 4.1 and 4.2 name undeployed ones
    import_units(engine, few_units(tmp_path))
    with pytest.raises(NotFound, match="directive"):
        import_directive(engine, DIRECTIVE)
    assert (count(engine, instances), count(engine, directives)) == (0, 0)


def test_deadline_as_written_is_the_start_of_that_day_in_vietnam():
    instant = parse_deadline("trước ngày 15/9/2020", "Asia/Ho_Chi_Minh")
    assert instant == datetime(2020, 9, 14, 17, 0, tzinfo=UTC)


def test_deadline_by_a_day_is_the_end_of_that_day():
    instant = parse_deadline("ngày 15/9/2020", "Asia/Ho_Chi_Minh")
    assert instant == datetime(2020, 9, 15, 17, 0, tzinfo=UTC)


def test_imported_plans_are_due_at_the_deadline_instant(domain):
    import_directive(domain, DIRECTIVE)
    due = {i.due_at for i in domain.instances(workflow="plan_drafting")}
    assert due == {datetime(2020, 9, 14, 17, 0, tzinfo=UTC)}


def test_unreadable_deadline_is_reported_with_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    text = DIRECTIVE.read_text(encoding="utf-8")
    bad.write_text(text.replace("deadline: trước ngày 15/9/2020", "deadline: sớm", 1), "utf-8")
    line = text.splitlines().index("    deadline: trước ngày 15/9/2020") + 1
    with pytest.raises(DirectiveFileError, match=rf"bad.yaml:{line}: \[items\[1\].deadline\]"):
        import_directive(None, bad)  # type: ignore[arg-type]  # refused before any database use


def test_unknown_unit_is_named_and_nothing_is_imported(domain, tmp_path: Path):
    engine = domain
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        DIRECTIVE.read_text(encoding="utf-8").replace("lead: uy_ban_kiem_tra", "lead: ubkt"),
        encoding="utf-8",
    )
    with pytest.raises(DirectiveFileError, match="unit 'ubkt' is not registered"):
        import_directive(engine, bad)
    assert count(engine, directives) == 0


def imported_into(engine: Engine) -> Engine:
    import_directive(engine, DIRECTIVE)
    return engine


def sign_payload() -> dict[str, str]:
    return {"document_number": "05-KH/ĐU", "signed_on": "2020-09-12", "signatory": "bí thư"}


def approved_plan(engine, unit: str) -> int:
    """Approve ``unit``'s plan (item 2.2); returns the signing instance it started."""
    plan_id = next(i.id for i in engine.instances(workflow="plan_drafting", unit=unit))
    engine.fire(plan_id, "submit", secretary(unit), payload=plan())
    engine.fire(plan_id, "approve", secretary(unit))
    return next(i.id for i in engine.instances(workflow="signing", unit=unit))


def test_a_secretary_signs_only_for_their_own_unit(domain):
    engine = imported_into(domain)
    signing = approved_plan(engine, "db_so_tai_chinh")
    with pytest.raises(PermissionDenied, match="not the own unit"):
        engine.fire(signing, "sign", secretary("db_so_ke_hoach_dau_tu"), payload=sign_payload())
    result = engine.fire(signing, "sign", secretary("db_so_tai_chinh"), payload=sign_payload())
    assert result.state == "issued"


def test_item_is_done_only_when_its_chain_is_archived(domain):
    engine = imported_into(domain)
    unit = "db_so_tai_chinh"
    office = Actor("vp", ["office_clerk", "archivist"], "van_phong")

    def row():
        rows = directive_report(engine, NUMBER).rows
        return next(r for r in rows if r.unit == unit and r.item == "2.2")

    signing = approved_plan(engine, unit)
    assert (row().workflow, row().done) == ("signing", False)
    engine.fire(signing, "sign", secretary(unit), payload=sign_payload())
    archive = next(i.id for i in engine.instances(workflow="archiving", unit=unit))
    engine.fire(archive, "receive", office)
    assert (row().state, row().done) == ("received", False)
    engine.fire(archive, "archive", office, payload={"archive_code": "HS-1"})
    assert (row().stages, row().done) == (3, True)


def test_units_import_again_changes_nothing(domain):
    again = import_units(domain, few_units(domain_folder(domain)))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 9)


def domain_folder(engine: Engine) -> Path:
    return Path(engine.db.url.database or ".").parent
