"""The progress report of 19-CV/ĐUK: totals match the database; Vietnamese survives every path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from directive_support import (
    DIRECTIVE,
    NUMBER,
    UNITS,
    few_units,
    imported,
    plan,
    secretary,
    sqlite_copy,
)
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from cli.simulation import run_demo
from workflow import Actor, Engine, FrozenClock
from workflow.admin import is_simulation
from workflow.directives import (
    directive_report,
    get_directive,
    import_directive,
    list_units,
    render_csv,
    render_markdown,
    report_json,
)
from workflow.directives.files import load_directive
from workflow.store.tables import instances

DEADLINE = datetime(2020, 9, 14, 17, 0, tzinfo=UTC)
OFFICE = Actor("vp", ["office_clerk", "archivist"], "van_phong")
INSPECTION_COMMITTEE = "Ủy ban Kiểm tra Đảng ủy Khối"


def finish_plan(engine: Engine, unit: str) -> None:
    me = secretary(unit)
    plan_id = next(i.id for i in engine.instances(workflow="plan_drafting", unit=unit))
    engine.fire(plan_id, "submit", me, payload=plan())
    engine.fire(plan_id, "approve", me)
    signing = next(i.id for i in engine.instances(workflow="signing", unit=unit))
    sign = {"document_number": "05-KH/ĐU", "signed_on": "2020-09-12", "signatory": "Lê Thị Hồng"}
    engine.fire(signing, "sign", me, payload=sign)
    archive = next(i.id for i in engine.instances(workflow="archiving", unit=unit))
    engine.fire(archive, "receive", OFFICE)
    engine.fire(archive, "archive", OFFICE, payload={"archive_code": "HS-2020"})


def database_totals(engine: Engine, directive_id: int, now: datetime) -> tuple[int, int, int]:
    """(items, done, overdue) counted in SQL, independently of the report's chain walk."""
    child, grandchild = aliased(instances), aliased(instances)
    root = and_(instances.c.directive_id == directive_id, instances.c.parent_id.is_(None))
    live_descendant = (
        select(child.c.id)
        .outerjoin(grandchild, grandchild.c.parent_id == child.c.id)
        .where(
            child.c.parent_id == instances.c.id,
            child.c.active.is_(True) | grandchild.c.active.is_(True),
        )
        .exists()
    )
    done = and_(instances.c.active.is_(False), ~live_descendant)
    with engine.db.connect() as conn:

        def count(*where: object) -> int:
            query = select(func.count()).select_from(instances).where(root, *where)
            return int(conn.execute(query).scalar_one())

        return count(), count(done), count(~done, instances.c.due_at < now)


def test_report_totals_match_the_database(engine, clock, tmp_path):
    imported(engine, few_units(tmp_path))
    finish_plan(engine, "db_so_tai_chinh")
    clock.set(DEADLINE + timedelta(days=2))
    finish_plan(engine, "db_so_ke_hoach_dau_tu")  # done, but late
    report = directive_report(engine, NUMBER)
    directive_id = get_directive(engine, NUMBER).id
    t = report.totals
    assert (t.items, t.done, t.overdue) == database_totals(engine, directive_id, clock.now())
    assert (t.done_on_time, t.done_late) == (1, 1)
    assert t.percent_done == round(100 * t.done / t.items, 1)


def test_overdue_items_say_by_how_long(domain_engine, clock):
    engine = domain_engine
    import_directive(engine, DIRECTIVE)
    clock.set(DEADLINE + timedelta(days=3, hours=5))
    rows = [r for r in directive_report(engine, NUMBER).rows if r.item == "2.2"]
    assert {(r.status, r.overdue_by) for r in rows} == {("overdue", timedelta(days=3, hours=5))}


def test_vietnamese_text_round_trips_through_the_database(engine, tmp_path):
    imported(engine, few_units(tmp_path))
    written = load_directive(DIRECTIVE)
    stored = get_directive(engine, NUMBER)
    assert (stored.number, stored.subject, stored.issuing_body) == (
        written.number,
        written.subject,
        written.issuing_body,
    )
    assert stored.document == written.document
    names = {u.code: u.name_vi for u in list_units(engine)}
    assert names["uy_ban_kiem_tra"] == INSPECTION_COMMITTEE
    assert INSPECTION_COMMITTEE in UNITS.read_text(encoding="utf-8")


@pytest.fixture
def domain_engine(tmp_path: Path, clock: FrozenClock) -> Iterator[Engine]:
    with sqlite_copy(tmp_path, clock, units=True) as engine:
        yield engine


@pytest.fixture
def cli_db(tmp_path: Path, clock: FrozenClock) -> Iterator[str]:
    with sqlite_copy(tmp_path, clock, units=True) as engine:
        import_directive(engine, DIRECTIVE)
        yield str(engine.url)


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "markdown"])
def test_vietnamese_text_round_trips_through_the_cli(cli_db, fmt):
    from cli.main import cli

    args = ["--db", cli_db, "--lang", "vi", "directive", "report", NUMBER, "--format", fmt]
    result = CliRunner().invoke(cli, [*args, "--at", "2020-09-20T00:00:00+07:00"])
    assert result.exit_code == 0, result.output
    written = load_directive(DIRECTIVE)
    for text in (
        INSPECTION_COMMITTEE,
        "Đang xây dựng",
        "Đảng bộ Sở Tài chính" if fmt == "csv" else NUMBER,
    ):
        assert text in result.output
    if fmt == "json":
        assert json.loads(result.output)["directive"]["subject"] == written.subject
    elif fmt != "csv":
        assert written.subject in result.output


def test_exports_agree_with_each_other(domain_report):
    as_json = report_json(domain_report)
    csv_lines = render_csv(domain_report).splitlines()
    markdown = render_markdown(domain_report)
    assert len(csv_lines) == 1 + len(as_json["items"]) == 1 + as_json["totals"]["items"]
    assert all(item["unit_name"] in markdown for item in as_json["items"])


@pytest.fixture
def domain_report(tmp_path: Path, clock: FrozenClock):
    with sqlite_copy(tmp_path, clock, units=True) as engine:
        import_directive(engine, DIRECTIVE)
        return directive_report(engine, NUMBER)


def test_cli_import_twice_says_nothing_changed(cli_db):
    from cli.main import cli

    result = CliRunner().invoke(cli, ["--db", cli_db, "directive", "import", str(DIRECTIVE)])
    assert result.exit_code == 0
    assert "already imported" in result.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo") / "demo.db")


def test_the_demo_database_is_marked_as_a_simulation(demo):
    with Engine.open(f"sqlite:///{demo.db_path}") as engine:
        assert is_simulation(engine)


def test_demo_plays_the_directive_past_its_deadline(demo):
    result = demo
    base = {u.code for u in load_units_of_kind("base")}
    assert base <= {r.unit for r in result.report.rows}
    assert result.verification.ok
    t = result.report.totals
    assert t.done_late > 0
    assert t.overdue > 0
    assert t.done_on_time > t.done_late + t.overdue
    timeline = "\n".join(result.timeline)
    assert "69 instances started (item 1: 32, item 2.1: 3, item 2.2: 32" in timeline
    for event in ("REFUSED plan", "sent back", "was escalated", "inspection scheduled"):
        assert event in timeline
    escalated = result.highlights["difficulty escalated by a timer"]
    with Engine.open(result.url) as engine:
        actors = [e.actor for e in engine.history(escalated)]
    assert actors[1] == "system:timer"


def test_demo_announces_who_acts_next_from_the_outbox(demo):
    notices = "\n".join(demo.notices)
    assert "Văn phòng Đảng ủy Khối: tài liệu chờ lưu trữ từ Chi bộ Báo Đồng Khởi" in notices
    assert "Chi bộ Sở Tư pháp: kế hoạch bị trả lại, cần chỉnh sửa" in notices
    assert "khó khăn của Đảng bộ Kho bạc Nhà nước tỉnh chờ chỉ đạo tháo gỡ" in notices


def load_units_of_kind(kind: str):
    from workflow.directives.files import load_units

    return [u for u in load_units(UNITS) if u.kind == kind]
