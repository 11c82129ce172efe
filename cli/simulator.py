"""The demo's simulator: a frozen clock moved from one scripted step to the next, the timers due
by then fired and the outbox delivered between steps (as the timer worker and the dispatcher
would), the instances found by unit, item and workflow, and the timeline, notices and highlights
the demo reports.

Separate from the script it plays (:mod:`demo_script`): this is how any step runs, not which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from workflow import Actor, Engine, FrozenClock, NotFound, WorkflowError
from workflow.events import EventBus, NextActorNotices, dispatch_pending
from workflow.i18n import _
from workflow.timers import run_due_timers

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


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


@dataclass
class Simulator:
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
