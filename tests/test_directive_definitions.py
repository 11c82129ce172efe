"""The seven definitions drawn from 19-CV/ĐUK: each file is valid, and each path behaves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from directive_support import DEFINITIONS, SYSTEM, plan, secretary, sqlite_copy

from workflow import Actor, Engine, FrozenClock, GuardFailed, PermissionDenied, validate_definition
from workflow.timers import run_due_timers

PLAN_ITEMS = (
    "title",
    "targets",
    "tasks",
    "solutions",
    "resources",
    "responsibilities",
    "schedule",
    "preliminary_review_on",
    "final_review_on",
    "complete_by",
)
OFFICE = Actor("van_thu", ["office_clerk", "archivist"], "van_phong")
INSPECTOR = Actor("ubkt", ["inspector"], "uy_ban_kiem_tra")
PROPAGANDA = Actor("btg", ["propaganda", "coordinator"], "ban_tuyen_giao")
STANDING = Actor("btv", ["standing_committee"], "ban_thuong_vu")
UNIT = "db_so_tai_chinh"


@pytest.mark.parametrize("path", DEFINITIONS, ids=[p.stem for p in DEFINITIONS])
def test_definition_file_is_valid(path: Path) -> None:
    definition = validate_definition(path)
    assert definition.name == path.stem
    assert definition.labels.vi
    assert definition.labels.en


@pytest.fixture
def domain(tmp_path: Path, clock: FrozenClock) -> Iterator[Engine]:
    with sqlite_copy(tmp_path, clock) as engine:
        yield engine


def start(engine: Engine, workflow: str, unit: str = UNIT, **kw: object) -> int:
    return engine.start(workflow, SYSTEM, unit=unit, **kw).instance.id  # type: ignore[arg-type]


def children(engine: Engine, parent: int) -> list[tuple[str, str]]:
    return [(i.workflow, i.state) for i in engine.instances() if i.parent_id == parent]


# --- plan_drafting -------------------------------------------------------------------------------


def test_plan_approved_starts_its_signing(domain):
    me = secretary(UNIT)
    plan_id = start(domain, "plan_drafting")
    domain.fire(plan_id, "submit", me, payload=plan())
    assert domain.fire(plan_id, "approve", me).state == "approved"
    assert children(domain, plan_id) == [("signing", "awaiting_signature")]


def test_plan_sent_back_is_revised_and_resubmitted(domain):
    me = secretary(UNIT)
    plan_id = start(domain, "plan_drafting")
    domain.fire(plan_id, "submit", me, payload=plan())
    back = domain.fire(plan_id, "request_revision", me, reason="Chỉ tiêu chung chung")
    assert back.state == "revising"
    resubmitted = domain.fire(plan_id, "submit", me, payload=plan(targets="Chỉ tiêu cụ thể"))
    assert (resubmitted.state, resubmitted.instance.data["targets"]) == (
        "submitted",
        "Chỉ tiêu cụ thể",
    )


def test_sending_a_plan_back_needs_a_reason(domain):
    me = secretary(UNIT)
    plan_id = start(domain, "plan_drafting")
    domain.fire(plan_id, "submit", me, payload=plan())
    with pytest.raises(Exception, match="requires a reason"):
        domain.fire(plan_id, "request_revision", me)


def test_missing_content_refusal_names_every_missing_item(domain):
    plan_id = start(domain, "plan_drafting")
    with pytest.raises(GuardFailed) as refused:
        domain.fire(plan_id, "submit", secretary(UNIT), payload={})
    assert refused.value.missing_fields == PLAN_ITEMS
    for item in PLAN_ITEMS:
        assert item in str(refused.value)


def test_a_plan_missing_two_items_is_refused_naming_those_two(domain):
    plan_id = start(domain, "plan_drafting")
    with pytest.raises(GuardFailed) as refused:
        domain.fire(plan_id, "submit", secretary(UNIT), payload=plan(resources=None, schedule=""))
    assert refused.value.missing_fields == ("resources", "schedule")


def test_coordinating_unit_contributes_but_cannot_submit(domain):
    plan_id = start(
        domain, "plan_drafting", unit="ban_tuyen_giao", coordinating_units=["van_phong"]
    )
    helper = secretary("van_phong")
    domain.fire(plan_id, "contribute", helper, payload={"contributions": "Số liệu lưu trữ"})
    with pytest.raises(PermissionDenied, match="own unit"):
        domain.fire(plan_id, "submit", helper, payload=plan())


def test_plan_is_reminded_then_marked_overdue_by_timers(domain, clock):
    deadline = clock.now() + timedelta(days=8)
    plan_id = start(domain, "plan_drafting", data={"deadline": deadline.isoformat()})
    run_due_timers(domain, now=deadline - timedelta(days=3))
    run_due_timers(domain, now=deadline)
    triggers = [e.trigger for e in domain.history(plan_id)]
    assert triggers == [None, "remind", "mark_overdue"]
    assert domain.get(plan_id).data["overdue"] is True


# --- signing and archiving -----------------------------------------------------------------------


def test_signing_records_number_and_date_and_starts_archiving(domain):
    sign_id = start(domain, "signing", data={"title": "Kế hoạch số 05"})
    payload = {"document_number": "05-KH/ĐU", "signed_on": "2020-09-12", "signatory": "Nguyễn A"}
    result = domain.fire(sign_id, "sign", secretary(UNIT), payload=payload)
    assert result.state == "issued"
    assert result.instance.data["document_number"] == "05-KH/ĐU"
    archive = [i for i in domain.instances(workflow="archiving") if i.parent_id == sign_id]
    assert archive[0].data["document_number"] == "05-KH/ĐU"


def test_signing_without_a_document_number_is_refused(domain):
    sign_id = start(domain, "signing")
    with pytest.raises(GuardFailed, match="document_number"):
        domain.fire(sign_id, "sign", secretary(UNIT), payload={"signed_on": "2020-09-12"})


def test_archiving_receives_then_archives_as_separate_steps(domain):
    archive_id = start(domain, "archiving")
    assert domain.fire(archive_id, "receive", OFFICE).state == "received"
    done = domain.fire(archive_id, "archive", OFFICE, payload={"archive_code": "HS-01"})
    assert done.state == "archived"
    assert [e.trigger for e in domain.history(archive_id)] == [None, "receive", "archive"]


def test_archiving_returned_document_is_sent_again(domain):
    archive_id = start(domain, "archiving")
    domain.fire(archive_id, "return_to_unit", OFFICE, reason="Thiếu chữ ký")
    assert domain.fire(archive_id, "resend", secretary(UNIT)).state == "sent"


def test_archiving_without_an_archive_code_is_refused(domain):
    archive_id = start(domain, "archiving")
    domain.fire(archive_id, "receive", OFFICE)
    with pytest.raises(GuardFailed, match="archive_code"):
        domain.fire(archive_id, "archive", OFFICE)


# --- inspection ----------------------------------------------------------------------------------

SCHEDULE = {
    "programme_year": 2021,
    "inspected_units": [UNIT],
    "planned_on": "2021-03-15",
    "scope": "Cụ thể hóa nghị quyết",
}


def inspect_until_findings(engine: Engine, remediation: bool) -> int:
    inspection_id = start(
        engine, "inspection", unit="uy_ban_kiem_tra", coordinating_units=["ban_tuyen_giao"]
    )
    engine.fire(inspection_id, "schedule", INSPECTOR, payload=SCHEDULE)
    engine.fire(inspection_id, "notify", INSPECTOR)
    engine.fire(inspection_id, "begin", INSPECTOR)
    findings = {"findings": "Chậm ban hành", "remediation_required": remediation}
    engine.fire(inspection_id, "record_findings", INSPECTOR, payload=findings)
    return inspection_id


def test_inspection_without_remediation_concludes(domain):
    inspection_id = inspect_until_findings(domain, remediation=False)
    result = domain.fire(inspection_id, "conclude", INSPECTOR, payload={"conclusion": "Đạt"})
    assert result.state == "concluded"


def test_inspection_with_findings_requiring_remediation_goes_through_remediation(domain):
    inspection_id = inspect_until_findings(domain, remediation=True)
    conclusion = {"conclusion": "Yêu cầu khắc phục"}
    assert domain.fire(inspection_id, "conclude", INSPECTOR, payload=conclusion).state == (
        "remediation"
    )
    report = {"remediation_report": "Đã ban hành kế hoạch"}
    assert domain.fire(inspection_id, "accept_remediation", INSPECTOR, payload=report).state == (
        "concluded"
    )


def test_coordinating_department_contributes_but_cannot_schedule(domain):
    inspection_id = start(
        domain, "inspection", unit="uy_ban_kiem_tra", coordinating_units=["ban_tuyen_giao"]
    )
    helper = Actor("btg", ["inspector", "coordinator"], "ban_tuyen_giao")
    with pytest.raises(PermissionDenied):
        domain.fire(inspection_id, "schedule", helper, payload=SCHEDULE)
    note = {"contributions": "Ưu tiên đơn vị chậm"}
    assert domain.fire(inspection_id, "contribute", helper, payload=note).state == "programmed"


# --- directive, dissemination, difficulty --------------------------------------------------------


def test_directive_is_implemented_reported_and_closed(domain):
    directive_id = start(
        domain, "directive", unit="ban_tuyen_giao", coordinating_units=["van_phong"]
    )
    office = Actor("vp", ["office_clerk"], "van_phong")
    domain.fire(directive_id, "begin_implementation", PROPAGANDA)
    domain.fire(directive_id, "compile", office, payload={"compiled_notes": "30/32 đơn vị"})
    domain.fire(directive_id, "report", PROPAGANDA, payload={"summary": "93,8% hoàn thành"})
    assert domain.fire(directive_id, "close", STANDING, reason="Hoàn thành").state == "closed"


def test_only_the_lead_department_reports_on_the_directive(domain):
    directive_id = start(
        domain, "directive", unit="ban_tuyen_giao", coordinating_units=["van_phong"]
    )
    domain.fire(directive_id, "begin_implementation", PROPAGANDA)
    office = Actor("vp", ["propaganda"], "van_phong")
    with pytest.raises(PermissionDenied):
        domain.fire(directive_id, "report", office, payload={"summary": "x"})


def test_dissemination_session_is_recorded(domain):
    session = {
        "method": "Hội nghị",
        "audiences": ["đảng viên"],
        "held_on": "2020-09-10",
        "attendees": 45,
    }
    result = domain.fire(
        start(domain, "dissemination"), "record_session", secretary(UNIT), payload=session
    )
    assert result.state == "held"


def test_dissemination_with_nobody_attending_is_refused(domain):
    session = {"method": "Hội nghị", "audiences": ["x"], "held_on": "2020-09-10", "attendees": 0}
    with pytest.raises(GuardFailed, match="attendees"):
        domain.fire(
            start(domain, "dissemination"), "record_session", secretary(UNIT), payload=session
        )


def test_unanswered_difficulty_escalates_after_three_days(domain, clock):
    report_id = domain.start(
        "difficulty_report", secretary(UNIT), unit=UNIT, data={"description": "Làm việc theo ca"}
    ).instance.id
    clock.advance(timedelta(days=3))  # the clock, not a chosen moment: the answer comes after
    run_due_timers(domain)
    assert domain.get(report_id).state == "escalated"
    answer = {"resolution": "Quán triệt theo ca"}
    assert domain.fire(report_id, "resolve", STANDING, payload=answer).state == "resolved"


def test_difficulty_cannot_be_resolved_without_a_resolution(domain):
    report_id = domain.start("difficulty_report", secretary(UNIT), unit=UNIT).instance.id
    with pytest.raises(GuardFailed, match="resolution"):
        domain.fire(report_id, "resolve", STANDING)
