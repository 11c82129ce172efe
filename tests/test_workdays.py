"""Working days on Vietnam's calendar: Tết and the other lunar holidays from the holidays package,
make-up working days and extra days off declared by the administrators in their log; timers and
directive deadlines counted in working days; what the engine cannot honour is refused with file
and line."""

from __future__ import annotations

import shlex
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from directive_support import UNITS, deploy, few_units
from sqlalchemy import select

from workflow import Actor, DefinitionError, Engine
from workflow.admin import CalendarFileError, calendar_year, deploy_calendar, work_calendar
from workflow.auditing import admin_log
from workflow.directives import DirectiveFileError, import_directive, import_units, parse_deadline
from workflow.i18n import use_language
from workflow.store.tables import timers
from workflow.workdays import WorkCalendar, public_holidays

HCM = "Asia/Ho_Chi_Minh"
SIGNED = date(2025, 1, 24)  # a Friday; Tết At Ty: Mon 27/01 to Sat 01/02/2025 are holidays
DECLARED = WorkCalendar(working=frozenset({date(2025, 2, 8)}), off=frozenset({date(2025, 2, 3)}))

CALENDAR_2025 = """\
years:
  2025:
    working: ["08/02/2025"]   # Saturday worked to make up
    off: ["2025-02-03"]       # the Monday after Tết given off
"""


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_tet_comes_from_the_lunar_calendar_of_each_year():
    with use_language("vi"):
        assert public_holidays(2025)[date(2025, 1, 29)] == "Tết Nguyên Đán"
        assert public_holidays(2020)[date(2020, 1, 25)] == "Tết Nguyên Đán"
    assert public_holidays(2025)[date(2025, 1, 29)] == "Lunar New Year"
    assert date(2025, 1, 25) not in public_holidays(2025)


def test_five_working_days_from_before_tet_skip_the_holidays():
    # 27/01-01/02 Tết, 02/02 Sunday: Mon 03/02 is the first working day, Fri 07/02 the fifth
    assert WorkCalendar().add(SIGNED, 5) == date(2025, 2, 7)


def test_declared_days_move_a_deadline_spanning_tet():
    # 03/02 declared off, Saturday 08/02 declared a make-up working day: the fifth is 08/02
    assert DECLARED.add(SIGNED, 5) == date(2025, 2, 8)
    assert DECLARED.add(date(2025, 2, 8), -5) == date(2025, 1, 24)
    assert DECLARED.end_of(SIGNED, 5) == local("2025-02-09T00:00:00+07:00")


def test_a_working_day_shift_keeps_the_local_time():
    moment = local("2025-01-24T10:30:00+07:00")
    assert DECLARED.shift(moment, 5) == local("2025-02-08T10:30:00+07:00")


def test_the_importer_counts_working_days_from_the_signing():
    deadline = parse_deadline(
        "trong 05 ngày làm việc kể từ ngày ký", HCM, signed_on=SIGNED, calendar=DECLARED
    )
    assert deadline == local("2025-02-09T00:00:00+07:00")
    calendar_days = parse_deadline("trong vòng 10 ngày kể từ ngày ký", HCM, signed_on=SIGNED)
    assert calendar_days == local("2025-02-04T00:00:00+07:00")


@pytest.mark.parametrize(
    ("written", "ends"),
    [
        ("trước ngày 15/9/2020", "2020-09-15T00:00:00+07:00"),
        ("Trước ngày 15 tháng 9 năm 2020", "2020-09-15T00:00:00+07:00"),
        ("hoàn thành trước ngày 15-9-2020", "2020-09-15T00:00:00+07:00"),
        ("chậm nhất ngày 15/9/2020", "2020-09-16T00:00:00+07:00"),
        ("chậm nhất là ngày 15/09/2020", "2020-09-16T00:00:00+07:00"),
        ("hạn chót ngày 15.9.2020", "2020-09-16T00:00:00+07:00"),
        ("trong  ngày 15/9/2020", "2020-09-16T00:00:00+07:00"),
    ],
)
def test_the_usual_phrasings_are_understood(written, ends):
    assert parse_deadline(written, HCM) == local(ends)


@pytest.mark.parametrize(
    "written",
    [
        "sau ngày 15/9/2020",
        "trong 05 ngày làm việc kể từ ngày nhận được văn bản",
        "trong tháng 9/2020",
        "trước ngày 31/9/2020",
        "trong 0 ngày làm việc kể từ ngày ký",
    ],
)
def test_other_phrasings_are_refused(written):
    with pytest.raises(ValueError, match="deadline"):
        parse_deadline(written, HCM, signed_on=SIGNED)


def write_calendar(folder: Path, text: str = CALENDAR_2025) -> Path:
    path = folder / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_declarations_are_deployed_once_in_the_administrators_log(engine, tmp_path):
    path = write_calendar(tmp_path)
    assert deploy_calendar(engine, path, by="vp").changed
    assert not deploy_calendar(engine, path, by="vp").changed
    assert work_calendar(engine) == DECLARED
    events = [e for e in admin_log(engine) if e.action == "calendar"]
    assert [(e.subject, e.actor) for e in events] == [("VN 2025", "vp")]
    shown = {d.day: (d.working, d.why) for d in calendar_year(engine, 2025)}
    assert shown[date(2025, 2, 8)] == (True, "make-up working day (declared)")
    assert shown[date(2025, 2, 3)] == (False, "extra day off (declared)")
    assert shown[date(2025, 1, 29)] == (False, "Lunar New Year")
    assert engine.verify().ok


def test_a_later_deployment_replaces_only_the_years_it_names(engine, tmp_path):
    deploy_calendar(engine, write_calendar(tmp_path))
    deploy_calendar(engine, write_calendar(tmp_path, "years:\n  2026:\n    off: ['2026-02-23']\n"))
    assert work_calendar(engine).off == {date(2025, 2, 3), date(2026, 2, 23)}
    deploy_calendar(engine, write_calendar(tmp_path, "years:\n  2025: {}\n"))
    assert work_calendar(engine) == WorkCalendar(off=frozenset({date(2026, 2, 23)}))


def test_a_calendar_file_that_declares_nothing_or_nonsense_is_refused_with_lines(tmp_path):
    path = write_calendar(
        tmp_path,
        "years:\n"
        "  2025:\n"
        "    working:\n"
        "      - 2025-02-04\n"  # a Tuesday: already a working day
        "      - 31/02/2025\n"  # no such day
        "    off:\n"
        "      - 2025-02-08\n"  # a Saturday: already off
        "      - 2026-01-05\n"  # another year
        "  2101:\n"
        "    off: ['2101-01-03']\n",
    )
    from workflow.admin.calendar import load_calendar

    with pytest.raises(CalendarFileError) as refused:
        load_calendar(path)
    lines = sorted(issue.line for issue in refused.value.issues)
    assert lines == [4, 5, 7, 8, 9]
    text = str(refused.value)
    for said in ("already a working day", "not a date", "already a day off", "not in 2025"):
        assert said in text


WORKING_TIMER = """\
name: review
labels: {vi: Thẩm định, en: Review}
roles:
  clerk: {vi: Chuyên viên, en: Clerk}
fields:
  due: {type: datetime}
states:
  reviewing:
    initial: true
    timers:
      - {trigger: remind, business_days: 5}
      - {trigger: escalate, at: due, business_days: -2}
  done: {final: true}
transitions:
  - {trigger: remind, source: reviewing, dest: reviewing, roles: [system]}
  - {trigger: escalate, source: reviewing, dest: done, roles: [system]}
  - {trigger: finish, source: reviewing, dest: done, roles: [clerk]}
"""


def test_a_working_day_timer_lands_after_tet_and_the_declared_days(engine, clock, tmp_path):
    deploy_calendar(engine, write_calendar(tmp_path))
    engine.deploy_text(WORKING_TIMER, filename="review.yaml")
    clock.set(local("2025-01-24T10:00:00+07:00"))
    engine.start("review", Actor("c", ["clerk"]), data={"due": "2025-02-11T09:00:00+07:00"})
    with engine.db.connect() as conn:
        due = dict(conn.execute(select(timers.c.trigger, timers.c.due_at)).all())
    assert due["remind"] == local("2025-02-08T10:00:00+07:00")
    # two working days before Tue 11/02 09:00: Mon 10/02 is one, Sat 08/02 (declared) two
    assert due["escalate"] == local("2025-02-08T09:00:00+07:00")


@pytest.mark.parametrize(
    ("timer", "said"),
    [
        ("{trigger: remind, business_days: 0}", "positive number"),
        ("{trigger: remind, business_days: -3}", "positive number"),
        ("{trigger: remind, business_days: 5, zone: Europe/Berlin}", "cannot be honoured"),
        ("{trigger: remind, business_days: 5000}", "limit of 1,000"),
        ("{trigger: remind, business_days: 5, after: P1D}", "exactly one of"),
        ("{trigger: remind, at: due, offset: -P1D, business_days: -1}", "not both"),
        ("{trigger: remind, business_days: '5'}", "business_days"),
    ],
)
def test_the_validator_refuses_working_day_timers_it_cannot_honour(timer, said):
    from workflow.definition.loader import load_text

    text = WORKING_TIMER.replace("{trigger: remind, business_days: 5}", timer)
    with pytest.raises(DefinitionError) as refused:
        load_text(text, "review.yaml")
    assert said in str(refused.value)
    assert any(i.file == "review.yaml" and i.line == 11 for i in refused.value.issues)


DIRECTIVE = """\
number: 07-CV/VP
issuing_body: Văn phòng Đảng ủy Khối
place: Bến Tre
date: "2025-01-24"
subject: V/v nộp báo cáo sau Tết
items:
  - key: "1"
    title: Nộp kế hoạch
    workflow: plan_drafting
    addressees: [ban_to_chuc]
    deadline: trong 05 ngày làm việc kể từ ngày ký
"""


def test_an_imported_working_day_deadline_uses_the_declared_days(engine, tmp_path):
    deploy(engine, "plan_drafting")
    import_units(engine, few_units(tmp_path, base=0))
    deploy_calendar(engine, write_calendar(tmp_path))
    directive = tmp_path / "07-CV-VP.yaml"
    directive.write_text(DIRECTIVE, encoding="utf-8")
    import_directive(engine, directive)
    (instance,) = engine.instances(workflow="plan_drafting")
    assert datetime.fromisoformat(instance.data["deadline"]) == local("2025-02-09T00:00:00+07:00")


def test_an_unknown_phrasing_is_refused_with_file_and_line(tmp_path):
    directive = tmp_path / "07-CV-VP.yaml"
    directive.write_text(DIRECTIVE.replace("kể từ ngày ký", "kể từ ngày nhận"), encoding="utf-8")
    with (
        Engine.open(f"sqlite:///{tmp_path / 'w.db'}") as engine,
        pytest.raises(DirectiveFileError) as refused,
    ):
        import_directive(engine, directive)
    (issue,) = refused.value.issues
    assert (issue.file, issue.line, issue.key) == (str(directive), 11, "items[0].deadline")
    assert "trong 05 ngày làm việc kể từ ngày ký" in issue.message
    assert UNITS.is_file()


def test_the_calendar_commands_declare_show_count_and_refuse(tmp_path, capsys):
    from cli_runner import run_cli

    db = f"sqlite:///{tmp_path / 'w.db'}"

    def run(*args: str) -> tuple[int, str]:
        return run_cli(capsys, db, shlex.join(["--lang", "vi", "calendar", *args]))

    path = write_calendar(tmp_path)
    assert run("deploy", str(path)) == (0, "lịch 2025: đã khai báo 1 ngày làm bù, "
                                           "1 ngày nghỉ thêm\n")
    assert run("add", "24/01/2025", "5") == (0, "08/02/2025\n")
    assert run("add", "2025-02-08", "-5") == (0, "24/01/2025\n")
    code, shown = run("show", "--year", "2025")
    assert code == 0
    assert "08/02/2025  Thứ Bảy  có        ngày làm bù (khai báo)" in shown
    assert "29/01/2025  Thứ Tư   không     Tết Nguyên Đán" in shown
    bad = write_calendar(tmp_path, "years:\n  2025:\n    working: ['2025-02-04']\n")
    code, said = run("deploy", str(bad))
    assert code == 2
    assert f"{bad}:3: [years.2025.working[0]] 2025-02-04 vốn đã là ngày làm việc" in said
