"""The demo: 19-CV/ĐUK carried out by its units on a simulated clock, from 07/09/2020 past the
deadline of 15/09/2020. Returns what happened; the CLI prints it.

Most units disseminate, draft, sign and archive in time; some are late; one plan is sent back
for missing content and revised; one unit's difficulty is escalated by a timer to the Standing
Committee; the Inspection Committee schedules the annual inspection. Reminders and overdue marks
come from :func:`workflow.timers.run_due_timers`, as in production. A client of the public
API like every command; not part of it.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from workflow import (
    Actor,
    Engine,
    FrozenClock,
    InvalidInput,
    NotFound,
    VerificationReport,
    WorkflowError,
)
from workflow.admin import mark_simulation
from workflow.directives import (
    DirectiveReport,
    directive_report,
    import_directive,
    import_units,
    list_units,
    report_difficulty,
)
from workflow.events import EventBus, NextActorNotices, dispatch_pending
from workflow.i18n import N_, _
from workflow.shipped import DIRECTIVE, UNITS, definition_files
from workflow.timers import run_due_timers

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NUMBER = "19-CV/ĐUK"
START = datetime(2020, 9, 7, 8, 0, tzinfo=ZONE)
END = datetime(2020, 9, 25, 17, 0, tzinfo=ZONE)


# Who must act next, announced from the outbox after each step (at least once, after commit).
NOTICES = NextActorNotices(
    {
        "plan_drafting.*.submitted": "Cấp ủy $unit: kế hoạch chờ thẩm định",
        "plan_drafting.*.revising": "$unit: kế hoạch bị trả lại, cần chỉnh sửa",
        "signing.*.awaiting_signature": "Bí thư $unit: văn bản chờ ký ban hành",
        "archiving.*.sent": "Văn phòng Đảng ủy Khối: tài liệu chờ lưu trữ từ $unit",
        "difficulty_report.*.escalated": (
            "Ban Thường vụ Đảng ủy Khối: khó khăn của $unit chờ chỉ đạo tháo gỡ"
        ),
    }
)


@dataclass(frozen=True)
class DemoResult:
    """What the demo did: the database it left, its timeline, the report and the audit check."""

    db_path: Path
    url: str
    timeline: tuple[str, ...]
    report: DirectiveReport
    verification: VerificationReport
    timers_fired: int
    instances: int
    highlights: Mapping[str, int] = field(default_factory=dict)
    """Instances worth a look (their history tells a story), by what happened to them."""
    notices: tuple[str, ...] = ()
    """"Who acts next" sentences delivered from the outbox, stamped with the simulated time."""


@dataclass
class _Sim:
    engine: Engine
    clock: FrozenClock
    directive_id: int = 0
    timeline: list[str] = field(default_factory=list)
    timers_fired: int = 0
    events: list[tuple[datetime, int, Callable[[], None]]] = field(default_factory=list)
    events_run: bool = False
    ids: dict[tuple[str, str, str], int] = field(default_factory=dict)
    highlights: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    bus: EventBus = field(default_factory=EventBus)

    def __post_init__(self) -> None:
        self.bus.on("*", NOTICES.handler(self._notice), name="who-acts-next")

    def _notice(self, text: str) -> None:
        stamp = self.clock.now().astimezone(ZONE).strftime("%d/%m %H:%M")
        self.notices.append(f"{stamp}  {text}")

    def deliver(self) -> None:
        """Hand every committed event to the bus, as a dispatcher process would."""
        dispatch_pending(self.engine, self.bus, now=self.clock.now(), worker_id="demo")

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        self.events.append((when, len(self.events), action))

    def note(self, text: str) -> None:
        stamp = self.clock.now().astimezone(ZONE).strftime("%d/%m %H:%M")
        self.timeline.append(f"{stamp}  {text}")

    def tick(self, until: datetime) -> None:
        """Move the clock to ``until`` and fire every timer due by then."""
        if until <= self.clock.now() and self.events_run:
            return  # events at the same instant share one pass of the timers
        self.events_run = True
        self.clock.set(max(until, self.clock.now()))
        while True:
            run = run_due_timers(self.engine, now=self.clock.now(), worker_id="demo")
            self.timers_fired += run.fired
            if run.claimed == 0:
                self.deliver()
                return

    def run(self) -> None:
        for when, _order, action in sorted(self.events, key=lambda e: (e[0], e[1])):
            self.tick(when)
            action()
            self.deliver()

    def instance(self, unit: str, item: str, workflow: str) -> int:
        key = (unit, item, workflow)
        if key not in self.ids:
            # one read per workflow: the chains' children appear as their parents move on
            for found in self.engine.instances(
                workflow=workflow, directive_id=self.directive_id, limit=10_000
            ):
                self.ids.setdefault((found.unit or "", found.item_key or "", workflow), found.id)
        if key not in self.ids:
            raise NotFound("instance", f"{workflow} of {unit} for item {item}")
        return self.ids[key]

    def fire(
        self, unit: str, item: str, workflow: str, trigger: str, actor: Actor, **kw: Any
    ) -> None:
        self.engine.fire(self.instance(unit, item, workflow), trigger, actor, **kw)

    def refused(self, what: str, attempt: Callable[[], object]) -> None:
        try:
            attempt()
        except WorkflowError as exc:
            self.note(_("REFUSED {what}: {why}", what=what, why=exc))
        else:  # pragma: no cover - the demo's refusals are part of its script
            raise AssertionError(f"the demo expected {what} to be refused")


def _secretary(unit: str) -> Actor:
    return Actor(f"bi_thu.{unit}", ("secretary", "committee", "drafter"), unit)


OFFICE = Actor("van_thu.van_phong", ("office_clerk", "archivist"), "van_phong")
PROPAGANDA = Actor(
    "truong_ban.ban_tuyen_giao",
    ("propaganda", "coordinator", "secretary", "committee", "drafter"),
    "ban_tuyen_giao",
)
INSPECTOR = Actor(
    "chu_nhiem.uy_ban_kiem_tra",
    ("inspector", "secretary", "committee", "drafter"),
    "uy_ban_kiem_tra",
)
STANDING = Actor("bi_thu.ban_thuong_vu", ("standing_committee",), "ban_thuong_vu")
SUPERVISOR = Actor("uy_vien_bch.phu_trach_khoi_dn", ("supervisor",), "ban_thuong_vu")

_ACTORS = (OFFICE, PROPAGANDA, INSPECTOR, STANDING, SUPERVISOR)


def plan_content(name: str, *, resources: bool = True) -> dict[str, Any]:
    """The content 19-CV/ĐUK demands of a plan, written for unit ``name``."""
    content: dict[str, Any] = {
        "title": f"Kế hoạch cụ thể hóa Nghị quyết Đại hội {name} nhiệm kỳ 2020-2025",
        "targets": "100% cán bộ, đảng viên được quán triệt; hằng năm 90% đảng viên hoàn thành "
        "tốt nhiệm vụ",
        "tasks": "Quán triệt nghị quyết; xây dựng chương trình hành động; đưa vào nghị quyết "
        "năm 2021",
        "solutions": "Gắn thực hiện nghị quyết với nhiệm vụ chuyên môn của cơ quan, đơn vị",
        "resources": "Kinh phí hoạt động công tác đảng năm 2020-2021",
        "responsibilities": "Bí thư chịu trách nhiệm chung; chi ủy viên phụ trách từng đầu việc",
        "schedule": "Quý IV/2020 triển khai; từ năm 2021 thực hiện theo nghị quyết hằng năm",
        "preliminary_review_on": "2023-06-30",
        "final_review_on": "2025-06-30",
        "complete_by": "2025-09-30",
    }
    if not resources:
        del content["resources"], content["schedule"]
    return content


def _local(day: int, hour: int = 9) -> datetime:
    return datetime(2020, 9, day, hour, 0, tzinfo=ZONE)


def _chain(sim: _Sim, unit: str, item: str, name: str, days: tuple[int, int, int]) -> None:
    """Submit, approve, sign, receive and archive the plan of ``unit`` on the given days."""
    actor = _secretary(unit) if item == "2.2" else _department_actor(unit)
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


def _department_actor(unit: str) -> Actor:
    return {"ban_tuyen_giao": PROPAGANDA, "uy_ban_kiem_tra": INSPECTOR}.get(unit, _secretary(unit))


def _disseminate(sim: _Sim, unit: str, day: int, attendees: int) -> None:
    payload = {
        "method": "Hội nghị quán triệt kết hợp trao đổi, thảo luận theo tổ",
        "audiences": ["cán bộ", "đảng viên", "công chức, viên chức", "người lao động"],
        "held_on": f"2020-09-{day:02d}",
        "attendees": attendees,
    }
    sim.at(
        _local(day, 14),
        lambda: sim.fire(
            unit, "1", "dissemination", "record_session", _secretary(unit), payload=payload
        ),
    )


def _script(sim: _Sim, base: list[tuple[str, str]]) -> None:
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


def _revision_story(sim: _Sim, unit: str, name: str) -> None:
    actor = _secretary(unit)

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


def _unsigned_story(sim: _Sim, unit: str, name: str) -> None:
    actor = _secretary(unit)
    other = _secretary("ban_to_chuc")
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


def _difficulty_story(sim: _Sim, unit: str) -> None:
    def report() -> None:
        report_difficulty(
            sim.engine,
            NUMBER,
            _secretary(unit),
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


def _oversight_story(sim: _Sim, first: str) -> None:
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


def run_demo(
    db_path: str | Path = "demo.db",
    *,
    definitions_dir: str | Path | None = None,
    units_file: str | Path | None = None,
    directive_file: str | Path | None = None,
) -> DemoResult:
    """Replace ``db_path`` with a fresh SQLite database and play the simulation on it.

    A file that exists is replaced only when an earlier demo made it (every administrative
    change in it was the demo's): anything else is refused with :class:`~workflow.InvalidInput`.

    The shipped definitions, units and dispatch are played unless other files are given. The
    database is built in a temporary folder beside ``db_path`` and moved into place only when
    the simulation has finished: a failed demo leaves nothing behind (and the old file as it was).
    """
    path = Path(db_path)
    if not _replaceable(path):
        raise InvalidInput(
            f"{path} exists and is not a database an earlier demo made: the demo replaces its "
            "file, so give it another (it plays on demo.db by default)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as scratch:
        building = Path(scratch) / path.name
        result = _play(
            building,
            path,
            sorted(Path(definitions_dir).glob("*.yaml"))
            if definitions_dir is not None
            else definition_files(),
            units_file or UNITS,
            directive_file or DIRECTIVE,
        )
        for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        building.replace(path)
    return result


DEMO_ACTOR = "demo"


def _replaceable(path: Path) -> bool:
    """True when nothing is at ``path``, or an empty file, or a database the demo made."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return True
    # Read-only, with the standard library: nothing is written to a file that is not ours.
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT DISTINCT actor FROM admin_events").fetchall()
    except sqlite3.Error:
        return False  # not a SQLite database, or not the engine's
    return {str(row[0]) for row in rows} == {DEMO_ACTOR}


def _play(
    building: Path,
    path: Path,
    definitions: list[Path],
    units_file: str | Path,
    directive_file: str | Path,
) -> DemoResult:
    """Play the simulation on a new SQLite file ``building``, to be moved to ``path``."""
    clock = FrozenClock(START)
    with Engine.open(f"sqlite:///{building}", clock=clock) as engine:
        sim = _Sim(engine, clock)
        mark_simulation(engine, by=DEMO_ACTOR)  # first in its log: every event is simulated
        for file in definitions:
            engine.deploy(file, actor=DEMO_ACTOR)
        units = import_units(engine, units_file)
        sim.note(_("units registered: {count}", count=units.created))
        imported = import_directive(engine, directive_file, by=DEMO_ACTOR)
        sim.directive_id = imported.directive.id
        sim.note(imported.message)
        base = [(u.code, u.name_vi) for u in list_units(engine, "base")]
        for unit in ("ban_to_chuc", *(code for code, _name in base)):
            engine.add_actor(_secretary(unit).id, _secretary(unit).roles, unit=unit, by=DEMO_ACTOR)
        for actor in _ACTORS:
            engine.add_actor(actor.id, actor.roles, unit=actor.unit, by=DEMO_ACTOR)
        _script(sim, base)
        sim.run()
        sim.tick(END)
        report = directive_report(engine, NUMBER)
        verification = engine.verify()
        count = len(engine.instances(limit=10_000))
    return DemoResult(
        path,
        f"sqlite:///{path}",
        tuple(sim.timeline),
        report,
        verification,
        sim.timers_fired,
        count,
        dict(sim.highlights),
        tuple(sim.notices),
    )
