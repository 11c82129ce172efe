"""The web console's pages as data: what each viewer is shown and may do, on both backends.

The HTTP side (login, CSRF, the browser) is in tests/test_web_browser.py; here the page-data
functions are called as the console calls them, over a real database holding 19-CV/ĐUK, and
their output is rendered through the real templates.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from audit_attacks import drop_append_only_triggers
from directive_support import (
    DIRECTIVE,
    NUMBER,
    few_units,
    imported,
    plan,
    secretary,
    sqlite_copy,
)

from workflow import Actor, Engine, FrozenClock, Instance, InvalidInput, NotFound
from workflow.accounts import Sight
from workflow.auditing import path_of, read_export, verify_log
from workflow.directives import import_directive, list_units
from workflow.web import (
    Action,
    Field,
    Viewer,
    actions,
    chain_of,
    dashboard,
    inbox,
    item_page,
    render_svg,
)
from workflow.web._forms import payload_from_form
from workflow.web._records import VerifyJobs, checkpoint_stream, export_stream, named_problems
from workflow.web._render import Renderer
from workflow.web._text import translator

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DEADLINE = datetime(2020, 9, 14, 17, 0, tzinfo=UTC)
OFFICE = Actor("van_thu.van_phong", ["office_clerk", "archivist"], "van_phong")
AUDITOR = Actor("kiem_toan", ["auditor"])
WEB = Path(__file__).resolve().parents[1] / "src" / "workflow" / "web"


def viewer(engine: Engine, actor: Actor) -> Viewer:
    """The viewer as the console builds it: seeing what the library's rule lets it see
    (``workflow.accounts.Sight``, the one the API asks)."""
    return Viewer(actor, f"user:{actor.id}", None, Sight(engine, actor))


@pytest.fixture
def directive(engine: Engine, tmp_path: Path) -> Engine:
    """19-CV/ĐUK imported for three base units, on each backend."""
    return imported(engine, few_units(tmp_path, base=3))


@pytest.fixture
def lite(tmp_path: Path, clock: FrozenClock) -> Iterator[Engine]:
    """The same on SQLite only, from a template: the pages read through the public API, whose
    behaviour on both backends the library's own tests hold; the tests that say what each
    viewer is shown run on both (``directive``)."""
    with sqlite_copy(tmp_path, clock, units=True) as engine:
        import_directive(engine, DIRECTIVE)
        yield engine


def base_units(engine: Engine) -> list[str]:
    return [u.code for u in list_units(engine, kind="base")]


def plan_of(engine: Engine, unit: str) -> Instance:
    return next(i for i in engine.instances(workflow="plan_drafting", unit=unit) if i.item_key)


def to_archiving(engine: Engine, unit: str) -> Instance:
    """Submit, approve and sign ``unit``'s plan: its archiving instance waits for the Office."""
    me = secretary(unit)
    first = plan_of(engine, unit)
    engine.fire(first.id, "submit", me, payload=plan())
    engine.fire(first.id, "approve", me)
    signing = next(i for i in engine.instances(workflow="signing", unit=unit))
    sign = {"document_number": "05-KH/ĐU", "signed_on": "2020-09-12", "signatory": me.id}
    engine.fire(signing.id, "sign", me, payload=sign)
    return next(i for i in engine.instances(workflow="archiving", unit=unit))


def test_a_secretarys_inbox_lists_only_its_units_items_with_the_forms_of_its_triggers(directive):
    unit, other = base_units(directive)[:2]
    page = inbox(directive, viewer(directive, secretary(unit)), "vi")
    assert page.rows, "the unit's plan and dissemination wait for it"
    assert {row.instance.unit for row in page.rows} == {unit}
    submit = next(a for row in page.rows for a in row.actions if a.trigger == "submit")
    required = {f.name for f in submit.fields if f.required}
    assert {"targets", "tasks", "solutions", "resources", "schedule"} <= required
    assert other not in {row.instance.unit for row in page.rows}


def test_the_inbox_puts_the_soonest_deadline_first_and_marks_the_overdue(lite, clock):
    unit = base_units(lite)[0]
    me = viewer(lite, secretary(unit))
    before = inbox(lite, me, "vi")
    assert not any(row.overdue for row in before.rows)
    clock.set(DEADLINE + timedelta(hours=1))
    after = inbox(lite, me, "vi")
    overdue = [row for row in after.rows if row.overdue]
    assert [row.instance.workflow for row in overdue] == ["plan_drafting"]
    dated = [row.due_at for row in after.rows if row.due_at is not None]
    assert dated == sorted(dated)
    assert after.rows[0].overdue, "the overdue item comes before those without a deadline"


def test_the_office_sees_a_signed_plan_in_its_inbox_with_the_deadline_of_its_chain(lite):
    unit = base_units(lite)[0]
    waiting = to_archiving(lite, unit)
    page = inbox(lite, viewer(lite, OFFICE), "vi")
    row = next(r for r in page.rows if r.instance.id == waiting.id)
    assert [a.trigger for a in row.actions] == ["receive", "return_to_unit"]
    assert row.due_at == plan_of(lite, unit).due_at, "archiving carries the plan's deadline"
    reason = next(a for a in row.actions if a.trigger == "return_to_unit")
    assert reason.require_reason


def test_an_auditor_is_offered_no_action_anywhere(lite):
    unit = base_units(lite)[0]
    waiting = to_archiving(lite, unit)
    auditor = viewer(lite, AUDITOR)
    assert inbox(lite, auditor, "vi").rows == ()
    page = item_page(lite, auditor, waiting.id, "vi")
    assert page.actions == ()
    assert actions(lite, auditor, waiting, "vi") == []


def test_a_unit_cannot_open_another_units_item(lite):
    unit, other = base_units(lite)[:2]
    theirs = plan_of(lite, other)
    with pytest.raises(NotFound):
        item_page(lite, viewer(lite, secretary(unit)), theirs.id, "vi")


def test_the_dashboard_shows_overseers_every_unit_overdue_first(directive, clock):
    units = base_units(directive)
    to_archiving(directive, units[0])
    clock.set(DEADLINE + timedelta(days=2))
    office = dashboard(directive, viewer(directive, OFFICE), NUMBER, "vi", zone=ZONE)
    assert office.overseen, "the Office coordinates item 4.1"
    assert {r.unit for r in office.rows} >= set(units)
    statuses = [r.status for r in office.rows]
    assert statuses[0] == "overdue"
    assert statuses == sorted(statuses, key=["overdue", "open", "done_late", "done"].index)
    assert office.counts["overdue"] == sum(s == "overdue" for s in statuses)
    assert "<svg" in office.chart


def test_a_unit_sees_only_its_own_rows_of_the_dashboard(lite):
    unit = base_units(lite)[1]
    page = dashboard(lite, viewer(lite, secretary(unit)), NUMBER, "vi", zone=ZONE)
    assert not page.overseen
    assert page.rows
    assert {r.unit for r in page.rows} == {unit}


def test_dashboard_filters_by_status_unit_and_item(lite, clock):
    units = base_units(lite)
    clock.set(DEADLINE + timedelta(days=1))
    office = viewer(lite, OFFICE)
    late = dashboard(lite, office, NUMBER, "vi", status="overdue")
    assert late.rows
    assert {r.status for r in late.rows} == {"overdue"}
    one = dashboard(lite, office, NUMBER, "vi", unit=units[2], item="2.2")
    assert [(r.unit, r.item) for r in one.rows] == [(units[2], "2.2")]


def test_the_item_page_joins_plan_signing_and_archiving_into_one_timeline(directive):
    unit = base_units(directive)[0]
    waiting = to_archiving(directive, unit)
    me = viewer(directive, secretary(unit))
    page = item_page(directive, me, plan_of(directive, unit).id, "en")
    assert [m.workflow for m in page.chain] == ["plan_drafting", "signing", "archiving"]
    assert page.current.id == waiting.id
    steps = [(e.event.workflow, e.event.trigger or e.event.kind) for e in page.timeline]
    assert steps == [
        ("plan_drafting", "start"),
        ("plan_drafting", "submit"),
        ("plan_drafting", "approve"),
        ("signing", "start"),
        ("signing", "sign"),
        ("archiving", "start"),
    ]
    assert 'aria-current="step"' in page.diagram, "the current state is marked"
    # after the first two events only the plan existed, and it was submitted
    earlier = item_page(directive, viewer(directive, secretary(unit)), waiting.id, "en", at_step=2)
    assert [s.state for s in earlier.at] == ["Submitted for review", None, None]


def test_the_state_at_a_moment_is_the_history_replayed_to_it(lite, clock):
    unit = base_units(lite)[0]
    first = plan_of(lite, unit)
    clock.advance(timedelta(hours=1))
    lite.fire(first.id, "submit", secretary(unit), payload=plan())
    submitted = lite.now()
    clock.advance(timedelta(hours=1))
    lite.fire(first.id, "approve", secretary(unit))
    before = item_page(lite, viewer(lite, AUDITOR), first.id, "en", at=submitted)
    assert [s.state for s in before.at] == ["Submitted for review", None]
    assert before.at[0].data is not None
    assert before.at[0].data["title"] == plan()["title"]


def test_chain_of_a_child_reaches_the_root(lite):
    unit = base_units(lite)[0]
    waiting = to_archiving(lite, unit)
    ids = [i.workflow for i in chain_of(lite, viewer(lite, OFFICE), waiting)]
    assert ids == ["plan_drafting", "signing", "archiving"], "the Office oversees 19-CV"
    clerk = Actor("van_thu.khac", ["office_clerk", "archivist"])  # in no unit: oversees nothing
    ids = [i.workflow for i in chain_of(lite, viewer(lite, clerk), waiting)]
    assert ids == ["archiving"], "it sees the stage it acts on, not the unit's plan"


def test_payloads_render_as_text_never_as_markup(lite):
    unit = base_units(lite)[0]
    first = plan_of(lite, unit)
    hostile = "<script>alert('x')</script>"
    lite.fire(first.id, "submit", secretary(unit), payload=plan(title=hostile))
    page = item_page(lite, viewer(lite, secretary(unit)), first.id, "vi")
    html = Renderer(ZONE).render(
        "item.html",
        "vi",
        viewer(lite, secretary(unit)),
        "token",
        data=page,
        at_moment=None,
        at_value="",
        values=None,
        open_action=None,
    )
    assert hostile not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_a_diagram_escapes_names_and_highlights_the_path(lite):
    engine = lite
    engine.deploy_text(
        """
name: tiny
labels: {vi: "Nhỏ <b>", en: Tiny}
roles: {clerk: {vi: Văn thư, en: Clerk}}
states:
  open: {initial: true, labels: {vi: "Mở <script>", en: Open}}
  done: {final: true}
transitions:
  - {trigger: close, source: open, dest: done, roles: [clerk]}
  - {trigger: touch, source: open, dest: open, roles: [clerk]}
""",
        filename="tiny.yaml",
    )
    clerk = Actor("lan", ["clerk"])
    started = engine.start("tiny", clerk).instance
    engine.fire(started.id, "touch", clerk)
    engine.fire(started.id, "touch", clerk)
    engine.fire(started.id, "close", clerk)
    svg = render_svg(engine.definition("tiny"), path_of(engine.history(started.id)))
    assert "<script>" not in svg
    assert "Mở &lt;script&gt;" in svg
    assert re.search(r'<g class="state final current"[^>]*aria-current="step"', svg)
    assert svg.count('class="edge taken"') == 2
    assert "touch \u00d72" in svg
    assert "style=" not in svg, "the CSP allows no inline style"


def test_a_posted_form_becomes_a_typed_payload_and_every_problem_is_named(lite):
    unit = base_units(lite)[0]
    waiting = to_archiving(lite, unit)
    say = translator("en")
    receive = actions(lite, viewer(lite, OFFICE), waiting, "en")[0]
    assert payload_from_form(receive, {"field.other": "x"}, ZONE, say) == {}, "undeclared: dropped"
    typed = Action(
        "t",
        "T",
        False,
        (
            Field("n", "integer", "Count", True),
            Field("x", "number", "Share", False),
            Field("d", "date", "Day", False),
            Field("w", "datetime", "When", False),
            Field("l", "list", "People", False),
            Field("b", "boolean", "Done", False),
        ),
    )
    form = {
        "field.n": "12",
        "field.x": "0.5",
        "field.d": "2020-09-15",
        "field.w": "2020-09-15T08:30",
        "field.l": "a\n\n b \n",
        "field.b": "true",
    }
    assert payload_from_form(typed, form, ZONE, say) == {
        "n": 12,
        "x": 0.5,
        "d": "2020-09-15",
        "w": "2020-09-15T08:30:00+07:00",
        "l": ["a", "b"],
        "b": True,
    }
    with pytest.raises(InvalidInput) as refused:
        payload_from_form(typed, {"field.n": "many", "field.d": "15/9"}, ZONE, say)
    assert "Count" in str(refused.value)
    assert "Day" in str(refused.value)


def test_the_console_speaks_vietnamese_by_default_and_english_when_asked(lite):
    unit = base_units(lite)[0]
    me = viewer(lite, secretary(unit))
    page = inbox(lite, me, "vi")
    renderer = Renderer(ZONE)
    vi = renderer.render("inbox.html", "vi", me, "t", data=page, page="inbox")
    en = renderer.render("inbox.html", "en", me, "t", data=page, page="inbox")
    assert "Việc cần làm" in vi
    assert "Inbox" in en
    assert "Việc cần làm" not in en
    assert translator("vi")("overdue") == "quá hạn"


def test_the_pages_load_only_the_packages_own_files():
    assert sorted(p.name for p in (WEB / "static").iterdir()) == ["console.css", "console.js"]
    pages = "".join(p.read_text(encoding="utf-8") for p in (WEB / "templates").glob("*.html"))
    assert "http://" not in pages.replace("http://www.w3.org", "")
    assert "https://" not in pages, "nothing is fetched from another site at run time"
    assert "<script>" not in pages, "no inline script: the CSP forbids it"
    assert " style=" not in pages, "no inline style: the CSP forbids it"


def test_a_verification_job_names_a_broken_chain_and_exports_verify_offline(lite):
    unit = base_units(lite)[0]
    first = plan_of(lite, unit)
    lite.fire(first.id, "submit", secretary(unit), payload=plan())
    jobs = VerifyJobs()
    clean = jobs.start(lite, "user:kiem_toan")
    assert clean.done.wait(60)
    assert clean.report is not None
    assert clean.report.ok
    assert clean.percent == 100
    exported = b"".join(export_stream(lite, "jsonl")).decode()
    checked = verify_log(read_export(io.StringIO(exported)).events)
    assert checked.ok
    assert checked.events == clean.report.events
    assert b'"format": "workflow-audit-checkpoint"' in b"".join(checkpoint_stream(lite))
    with lite.transaction() as conn:  # someone who can write the database edits a reason
        drop_append_only_triggers(conn)
        conn.exec_driver_sql(
            "UPDATE audit_events SET reason = 'edited' WHERE instance_id = ? AND seq = 2",
            (first.id,),
        )
    broken = jobs.start(lite, "user:kiem_toan")
    assert broken.done.wait(60)
    assert broken.report is not None
    named = named_problems(lite, broken.report, "vi")
    assert [p.instance_id for p in named] == [first.id]
    assert unit in named[0].what
    assert jobs.get(broken.id) is broken
    with pytest.raises(NotFound):
        jobs.get("no-such-job")
