"""The demo's script: what each unit does on which day of September 2020, from the dissemination
to the archived plan, with the late units, the plan sent back and revised, the plan left unsigned,
the difficulty escalated by a timer and the oversight of the directive and its inspection.

Separate from the simulator that plays it (:mod:`simulator`) and from the cast (:mod:`demo_cast`):
this is the story, scheduled step by step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from workflow.directives import directive_report, report_difficulty
from workflow.i18n import N_, _

from .demo_cast import (
    INSPECTOR,
    OFFICE,
    PROPAGANDA,
    STANDING,
    department_actor,
    plan_content,
    secretary,
)
from .simulator import ZONE, Simulator

NUMBER = "19-CV/ĐUK"
START = datetime(2020, 9, 7, 8, 0, tzinfo=ZONE)
END = datetime(2020, 9, 25, 17, 0, tzinfo=ZONE)


def _local(day: int, hour: int = 9) -> datetime:
    return datetime(2020, 9, day, hour, 0, tzinfo=ZONE)


def _chain(sim: Simulator, unit: str, item: str, name: str, days: tuple[int, int, int]) -> None:
    """Submit, approve, sign, receive and archive the plan of ``unit`` on the given days."""
    actor = secretary(unit) if item == "2.2" else department_actor(unit)
    submit_day, sign_day, archive_day = days

    def submit() -> None:
        sim.fire(unit, item, "plan_drafting", "submit", actor, payload=plan_content(name))

    def approve() -> None:
        sim.fire(unit, item, "plan_drafting", "approve", actor)

    def sign() -> None:
        number = f"{10 + len(unit) % 20:02d}-KH/ĐU"
        payload = {
            "document_number": number,
            "signed_on": f"2020-09-{sign_day:02d}",
            "signatory": actor.id,
        }
        sim.fire(unit, item, "signing", "sign", actor, payload=payload)

    def receive() -> None:
        sim.fire(unit, item, "archiving", "receive", OFFICE)

    def archive() -> None:
        code = f"HS-2020/{unit}"
        sim.fire(unit, item, "archiving", "archive", OFFICE, payload={"archive_code": code})

    sim.at(_local(submit_day, 8), submit)
    sim.at(_local(submit_day, 15), approve)
    sim.at(_local(sign_day, 10), sign)
    sim.at(_local(archive_day, 8), receive)
    sim.at(_local(archive_day, 14), archive)


def _disseminate(sim: Simulator, unit: str, day: int, attendees: int) -> None:
    payload = {
        "method": "Hội nghị quán triệt kết hợp trao đổi, thảo luận theo tổ",
        "audiences": ["cán bộ", "đảng viên", "công chức, viên chức", "người lao động"],
        "held_on": f"2020-09-{day:02d}",
        "attendees": attendees,
    }
    sim.at(
        _local(day, 14),
        lambda: sim.fire(
            unit, "1", "dissemination", "record_session", secretary(unit), payload=payload
        ),
    )


def script(sim: Simulator, base: list[tuple[str, str]]) -> None:
    """The units' behaviour: who is on time, who is late, who is sent back, who stalls."""
    late = {
        base[3][0]: (16, 17, 18),
        base[9][0]: (15, 16, 17),
        base[17][0]: (17, 18, 21),
        base[25][0]: (16, 18, 22),
    }
    stalled = base[29][0]  # never submits: overdue at the end
    unsigned = base[21][0]  # approved, but the secretary has not signed
    revised = base[5][0]  # refused for missing content, sent back, revised
    for index, (unit, name) in enumerate(base):
        if unit != stalled:
            _disseminate(sim, unit, 8 + index % 5, 20 + index * 3)
        if unit in (stalled, revised, unsigned):
            continue
        submit = 8 + index % 4
        days = late.get(unit, (submit, submit + 1 + index % 2, submit + 2 + index % 2))
        _chain(sim, unit, "2.2", name, days)
    for offset, unit in enumerate(("ban_to_chuc", "ban_tuyen_giao", "uy_ban_kiem_tra")):
        _chain(sim, unit, "2.1", "Đảng bộ Khối", (9 + offset, 12, 14))
    _revision_story(sim, revised, dict(base)[revised])
    _unsigned_story(sim, unsigned, dict(base)[unsigned])
    _difficulty_story(sim, base[15][0])
    _oversight_story(sim, base[0][0])


def _revision_story(sim: Simulator, unit: str, name: str) -> None:
    actor = secretary(unit)

    def first_try() -> None:
        sim.refused(
            _("plan of {unit} submitted without resources and schedule", unit=unit),
            lambda: sim.fire(
                unit,
                "2.2",
                "plan_drafting",
                "submit",
                actor,
                payload=plan_content(name, resources=False),
            ),
        )
        sim.fire(unit, "2.2", "plan_drafting", "submit", actor, payload=plan_content(name))
        sim.note(_("{unit}: plan submitted with every item", unit=unit))

    def send_back() -> None:
        reason = "Chỉ tiêu còn chung chung, chưa bám sát nhiệm vụ đột phá của nghị quyết"
        sim.fire(
            unit,
            "2.2",
            "plan_drafting",
            "request_revision",
            actor,
            reason=reason,
            payload={"revision_reason": reason},
        )
        sim.note(_("{unit}: plan sent back for revision: {reason}", unit=unit, reason=reason))
        revised = sim.instance(unit, "2.2", "plan_drafting")
        sim.highlights[N_("plan sent back and revised")] = revised

    def revise() -> None:
        content = plan_content(name)
        content["targets"] = "Đến năm 2025: 100% đảng viên học tập nghị quyết; 2 mô hình hay"
        sim.fire(unit, "2.2", "plan_drafting", "submit", actor, payload=content)
        sim.note(_("{unit}: revised plan resubmitted", unit=unit))

    sim.at(_local(9, 10), first_try)
    sim.at(_local(10, 9), send_back)
    sim.at(_local(12, 9), revise)
    sim.at(_local(12, 16), lambda: sim.fire(unit, "2.2", "plan_drafting", "approve", actor))
    sim.at(
        _local(13, 9),
        lambda: sim.fire(
            unit,
            "2.2",
            "signing",
            "sign",
            actor,
            payload={
                "document_number": "07-KH/ĐU",
                "signed_on": "2020-09-13",
                "signatory": actor.id,
            },
        ),
    )
    sim.at(_local(14, 8), lambda: sim.fire(unit, "2.2", "archiving", "receive", OFFICE))
    sim.at(
        _local(14, 9),
        lambda: sim.fire(
            unit, "2.2", "archiving", "archive", OFFICE, payload={"archive_code": f"HS-2020/{unit}"}
        ),
    )


def _unsigned_story(sim: Simulator, unit: str, name: str) -> None:
    actor = secretary(unit)
    other = secretary("ban_to_chuc")
    sim.at(
        _local(11, 8),
        lambda: sim.fire(unit, "2.2", "plan_drafting", "submit", actor, payload=plan_content(name)),
    )
    sim.at(_local(11, 16), lambda: sim.fire(unit, "2.2", "plan_drafting", "approve", actor))
    sim.at(
        _local(12, 9),
        lambda: sim.refused(
            _("signing of {unit}'s plan by the secretary of ban_to_chuc", unit=unit),
            lambda: sim.fire(
                unit,
                "2.2",
                "signing",
                "sign",
                other,
                payload={
                    "document_number": "01-KH/BTC",
                    "signed_on": "2020-09-12",
                    "signatory": other.id,
                },
            ),
        ),
    )


def _difficulty_story(sim: Simulator, unit: str) -> None:
    def report() -> None:
        report_difficulty(
            sim.engine,
            NUMBER,
            secretary(unit),
            description="Người lao động làm việc theo ca, khó tập trung quán triệt cùng lúc",
            proposal="Cho phép quán triệt theo từng ca và trực tuyến",
        )
        sim.note(_("{unit}: difficulty reported upward (item 3)", unit=unit))

    def resolve() -> None:
        found = sim.instance(unit, "3", "difficulty_report")
        state = sim.engine.get(found).state
        sim.engine.fire(
            found,
            "resolve",
            STANDING,
            payload={"resolution": "Đồng ý quán triệt theo ca; Ban Tuyên giáo hỗ trợ tài liệu"},
        )
        sim.note(
            _(
                "{unit}: difficulty (was {state}) resolved by the Standing Committee",
                unit=unit,
                state=state,
            )
        )
        sim.highlights[N_("difficulty escalated by a timer")] = found

    sim.at(_local(9, 11), report)
    sim.at(_local(14, 10), resolve)


def _oversight_story(sim: Simulator, first: str) -> None:
    directive = ("ban_tuyen_giao", "4.1", "directive")
    sim.at(_local(7, 14), lambda: sim.fire(*directive, "begin_implementation", PROPAGANDA))
    sim.at(
        _local(15, 9),
        lambda: sim.fire(
            *directive,
            "compile",
            OFFICE,
            payload={"compiled_notes": "Văn phòng đã nhận và lưu trữ văn bản của các cấp ủy cơ sở"},
        ),
    )

    def report() -> None:
        summary = directive_report(sim.engine, NUMBER)
        t = summary.totals
        text = f"{t.done}/{t.items} nội dung hoàn thành ({t.percent_done}%), {t.overdue} quá hạn"
        sim.fire(*directive, "report", PROPAGANDA, payload={"summary": text})
        sim.note(_("Ban Tuyên giáo reports: {text}", text=text))

    def schedule() -> None:
        late = [
            r.unit
            for r in directive_report(sim.engine, NUMBER).rows
            if r.status in ("overdue", "done_late") and r.unit
        ]
        payload: dict[str, Any] = {
            "programme_year": 2021,
            "inspected_units": sorted(set(late)) or [first],
            "planned_on": "2021-03-15",
            "scope": "Việc triển khai, quán triệt và cụ thể hóa nghị quyết đại hội của cấp ủy "
            "và người đứng đầu cấp ủy cơ sở",
        }
        sim.fire("uy_ban_kiem_tra", "4.2", "inspection", "schedule", INSPECTOR, payload=payload)
        sim.fire(
            "uy_ban_kiem_tra",
            "4.2",
            "inspection",
            "contribute",
            PROPAGANDA,
            payload={"contributions": "Đề nghị kiểm tra trước các đơn vị chậm ban hành văn bản"},
        )
        inspection = sim.instance("uy_ban_kiem_tra", "4.2", "inspection")
        sim.highlights[N_("annual inspection")] = inspection
        sim.note(
            _(
                "annual inspection scheduled for {count} committees",
                count=len(payload["inspected_units"]),
            )
        )

    sim.at(_local(16, 9), report)
    sim.at(_local(21, 9), schedule)
    sim.at(END - timedelta(hours=1), report)
