"""The web console's server time: a directive's dashboard over 10,000 units beside the JSON
report of the same directive (in the same run), and the item page of an instance with 1,000
events.

Server time is the page's data read through the public API as the viewer plus its template
rendered to HTML: what a request costs the server beyond parsing it and sending the bytes.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import NOW, median
from workflow import Actor, Engine, FrozenClock, StartRequest
from workflow.accounts import Sight
from workflow.directives import directive_report, report_json
from workflow.store.tables import directives
from workflow.web import Viewer, dashboard, item_page
from workflow.web._render import Renderer

NUMBER = "99-CV/BENCH"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TASK = """\
name: task
labels: {vi: Nhiệm vụ, en: Task}
roles:
  clerk: {vi: Cán bộ, en: Clerk}
deadline_field: deadline
fields:
  deadline: {type: datetime}
  note: {type: text}
states:
  open: {initial: true, labels: {vi: Đang làm, en: Open}}
  review: {labels: {vi: Chờ duyệt, en: In review}}
  done: {final: true, labels: {vi: Xong, en: Done}}
transitions:
  - {trigger: submit, source: open, dest: review, roles: [clerk], effects: [{merge: [note]}]}
  - {trigger: approve, source: review, dest: done, roles: [clerk]}
  - {trigger: reopen, source: review, dest: open, roles: [clerk]}
  - {trigger: comment, source: open, dest: open, roles: [clerk], effects: [{merge: [note]}]}
"""
CLERK = Actor("clerk-1", ["clerk"])
AUDITOR = Actor("kiem_toan", ["auditor"])


def _viewer(engine: Engine, actor: Actor) -> Viewer:
    return Viewer(actor, f"user:{actor.id}", None, Sight(engine, actor))


def _timed(action: Any, runs: int) -> float:
    timings = []
    for _ in range(runs):
        begun = time.perf_counter()
        action()
        timings.append((time.perf_counter() - begun) * 1000)
    return median(timings)


def populate(engine: Engine, units: int) -> None:
    """One directive over ``units`` units: a third overdue, a fifth done, the rest open."""
    engine.deploy_text(TASK, filename="task.yaml")
    with engine.transaction() as conn:
        directive_id = conn.execute(
            directives.insert()
            .values(
                number=NUMBER,
                issuing_body="Ban Thường vụ",
                place="Bến Tre",
                issued_on="2026-01-05",
                subject="bench",
                timezone="Asia/Ho_Chi_Minh",
                document={"items": [{"key": "1", "lead": "van_phong"}]},
                content_hash="0" * 64,
                imported_at=NOW,
                imported_by="bench",
            )
            .returning(directives.c.id)
        ).scalar_one()
    requests = [
        StartRequest(
            unit=f"unit_{n:05d}",
            directive_id=directive_id,
            item_key="1",
            data={"deadline": (NOW + timedelta(days=-2 if n % 3 == 0 else 10)).isoformat()},
        )
        for n in range(units)
    ]
    started = engine.start_many("task", CLERK, requests)
    for instance_id in started[::5]:
        engine.fire(instance_id, "submit", CLERK, payload={"note": "xong"})
        engine.fire(instance_id, "approve", CLERK)


def long_chain(engine: Engine, events: int) -> int:
    """An instance with ``events`` audit events (start, then comments)."""
    instance = engine.start("task", CLERK, data={"deadline": NOW.isoformat()}).instance
    for n in range(events - 1):
        engine.fire(instance.id, "comment", CLERK, payload={"note": f"<b>ghi chú {n}</b>"})
    return instance.id


def run(url: str, units: int, events: int, runs: int = 5) -> dict[str, Any]:
    renderer = Renderer(ZONE)
    with Engine(url, clock=FrozenClock(NOW)) as engine:
        auditor = _viewer(engine, AUDITOR)
        populate(engine, units)
        chain = long_chain(engine, events)

        def json_report() -> None:
            json.dumps(report_json(directive_report(engine, NUMBER)), ensure_ascii=False)

        def dashboard_page() -> None:
            data = dashboard(engine, auditor, NUMBER, "vi", zone=ZONE)
            renderer.render("dashboard.html", "vi", auditor, "t", data=data, page="directives")

        def item() -> None:
            data = item_page(engine, auditor, chain, "vi")
            renderer.render(
                "item.html", "vi", auditor, "t", data=data, at_moment=None, at_value="",
                values=None, open_action=None,
            )  # fmt: skip

        dashboard_page(), item()  # warm: definitions compiled, templates loaded
        report_ms, dashboard_ms, item_ms = [], [], []
        for _ in range(runs):  # interleaved, so the machine's load falls on all three alike
            report_ms.append(_timed(json_report, 1))
            dashboard_ms.append(_timed(dashboard_page, 1))
            item_ms.append(_timed(item, 1))
    return {
        "units": units,
        "events": events,
        "report_json_ms": median(report_ms),
        "dashboard_ms": median(dashboard_ms),
        "dashboard_vs_report_json": median(dashboard_ms) / median(report_ms),
        "item_page_ms": median(item_ms),
    }
