"""The progress report of a directive (item 4 of 19-CV/ĐUK): per unit, where each item stands.

An item of a unit is the chain its import started (plan → signing → archiving): it is done when
every instance of the chain is in a final state, and overdue when it is not done and its deadline
has passed (or was done after it). Read-only; renderers return text and never print.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from workflow.clock import require_aware
from workflow.directives.imports import DirectiveRecord, directive_in
from workflow.engine import Engine
from workflow.i18n import N_, _, format_day, format_decimal, format_moment, format_span, language
from workflow.office import BOM, neutralise
from workflow.store import Connection
from workflow.store import directives as stored

DONE, DONE_LATE, OPEN, OVERDUE = "done", "done_late", "open", "overdue"
STATUS_LABELS = {
    DONE: N_("done on time"),
    DONE_LATE: N_("done late"),
    OPEN: N_("in progress"),
    OVERDUE: N_("overdue"),
}
"""What each status code reads as (English here; ``_(label)`` in the current language: in
Vietnamese "hoàn thành đúng hạn", "hoàn thành trễ hạn", "đang thực hiện", "quá hạn")."""


@dataclass(frozen=True)
class ItemStatus:
    """One item of one unit: the chain's current stage and whether it is done or overdue."""

    unit: str | None
    unit_name: str
    item: str
    root_id: int
    current_id: int
    workflow: str
    state: str
    state_label: str
    state_label_en: str
    stages: int
    due_at: datetime | None
    done: bool
    completed_at: datetime | None
    status: str
    overdue_by: timedelta | None


@dataclass(frozen=True)
class Totals:
    items: int
    done: int
    done_on_time: int
    done_late: int
    open: int
    overdue: int

    @property
    def percent_done(self) -> float:
        return round(100.0 * self.done / self.items, 1) if self.items else 0.0


@dataclass(frozen=True)
class UnitSummary:
    unit: str | None
    unit_name: str
    items: int
    done: int
    overdue: int


@dataclass(frozen=True)
class DirectiveReport:
    directive: DirectiveRecord
    at: datetime
    rows: tuple[ItemStatus, ...]
    units: tuple[UnitSummary, ...]
    totals: Totals


def directive_report(engine: Engine, number: str, *, at: datetime | None = None) -> DirectiveReport:
    """Where every item of directive ``number`` stands at ``at`` (the engine's clock by default)."""
    now = engine.now() if at is None else require_aware(at, "at")
    with engine.read_transaction() as conn:
        record = directive_in(conn, number)
        names = stored.unit_names(conn)
        rows = stored.directive_instance_rows(conn, record.id)
        children: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            if row.parent_id is not None:
                children[int(row.parent_id)].append(row)
        labels = _StateLabels(conn, engine)
        statuses = [
            _status(labels, row, _chain(row, children), names, now)
            for row in rows
            if row.parent_id is None
        ]
    statuses.sort(key=lambda s: (s.unit or "", _item_order(s.item), s.root_id))
    return DirectiveReport(
        record, now, tuple(statuses), tuple(_unit_summaries(statuses)), _totals(statuses)
    )


def _item_order(key: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


def _chain(root: Any, children: dict[int, list[Any]]) -> list[Any]:
    chain, frontier = [root], [root]
    while frontier:
        node = frontier.pop()
        for child in children.get(int(node.id), ()):
            chain.append(child)
            frontier.append(child)
    return chain


class _StateLabels:
    """A state's labels (vi, en) by workflow, version and state, each looked up once per report
    (a report over 10,000 units meets a handful of states)."""

    def __init__(self, conn: Connection, engine: Engine) -> None:
        self.conn = conn
        self.engine = engine
        self.known: dict[tuple[str, int, str], tuple[str, str]] = {}

    def of(self, workflow: str, version: int, state: str) -> tuple[str, str]:
        key = (workflow, version, state)
        found = self.known.get(key)
        if found is None:
            definition = self.engine.machine_for(self.conn, workflow, version).definition
            labels = definition.state(state).labels
            found = (labels.vi, labels.en) if labels else (state, state)
            self.known[key] = found
        return found


def _status(
    labels: _StateLabels,
    root: Any,
    chain: list[Any],
    names: dict[str, str],
    now: datetime,
) -> ItemStatus:
    active = [r for r in chain if r.active]
    current = max(active or chain, key=lambda r: int(r.id))
    done = not active
    completed_at = max(r.updated_at for r in chain) if done else None
    due = next((r.due_at for r in chain if r.due_at is not None), None)
    overdue_by: timedelta | None = None
    if done:
        late = due is not None and completed_at is not None and completed_at > due
        status = DONE_LATE if late else DONE
        if late:
            overdue_by = completed_at - due  # type: ignore[operator]
    elif due is not None and now > due:
        status, overdue_by = OVERDUE, now - due
    else:
        status = OPEN
    label_vi, label_en = labels.of(current.workflow, current.definition_version, current.state)
    return ItemStatus(
        unit=root.unit,
        unit_name=names.get(root.unit or "", root.unit or ""),
        item=root.item_key or "",
        root_id=int(root.id),
        current_id=int(current.id),
        workflow=current.workflow,
        state=current.state,
        state_label=label_vi,
        state_label_en=label_en,
        stages=len(chain),
        due_at=due,
        done=done,
        completed_at=completed_at,
        status=status,
        overdue_by=overdue_by,
    )


def _unit_summaries(statuses: list[ItemStatus]) -> list[UnitSummary]:
    by_unit: dict[str | None, list[ItemStatus]] = defaultdict(list)
    for s in statuses:
        by_unit[s.unit].append(s)
    return [
        UnitSummary(
            unit,
            items[0].unit_name,
            len(items),
            sum(s.done for s in items),
            sum(s.status in (OVERDUE, DONE_LATE) for s in items),
        )
        for unit, items in by_unit.items()
    ]


def _totals(statuses: list[ItemStatus]) -> Totals:
    count = {k: sum(s.status == k for s in statuses) for k in (DONE, DONE_LATE, OPEN, OVERDUE)}
    return Totals(
        items=len(statuses),
        done=count[DONE] + count[DONE_LATE],
        done_on_time=count[DONE],
        done_late=count[DONE_LATE],
        open=count[OPEN],
        overdue=count[OVERDUE],
    )


# --- rendering: text in the current language (workflow.i18n), times on the directive's clock ----

HEADERS = (
    N_("unit"),
    N_("unit name"),
    N_("item"),
    N_("stage"),
    N_("deadline"),
    N_("status"),
    N_("late by"),
    N_("instance"),
)
"""The columns of :func:`table_rows` (English; :func:`headers` gives them in the current
language: "mã đơn vị", "đơn vị", "nội dung", "bước", "hạn", "tình trạng", "trễ", "hồ sơ")."""


def headers() -> list[str]:
    """:data:`HEADERS` in the current language."""
    return [_(h) for h in HEADERS]


def format_delay(delta: timedelta | None) -> str:
    """``3d 04h`` (days and hours; ``3 ngày 04 giờ`` in Vietnamese): how long past the deadline."""
    return format_span(delta)


def report_zone(report: DirectiveReport, zone: str | None = None) -> ZoneInfo:
    """The zone times are shown in: ``zone`` when given, else the directive's own."""
    return ZoneInfo(zone or report.directive.timezone)


def table_rows(
    report: DirectiveReport, *, codes: bool = False, zone: str | None = None
) -> list[list[str]]:
    """One row of text per unit and item, in :data:`HEADERS` order, in the current language:
    the stage is the state's label and the status its label (with ``codes``: ``workflow.state``
    and the status code), times on the wall clock of ``zone`` (default: the directive's)."""
    tz = report_zone(report, zone)
    vietnamese = language() == "vi"

    def stage(s: ItemStatus) -> str:
        if codes:
            return f"{s.workflow}.{s.state}"
        return s.state_label if vietnamese else s.state_label_en

    return [
        [
            s.unit or "",
            s.unit_name,
            s.item,
            stage(s),
            format_moment(s.due_at, tz),
            s.status if codes else _(STATUS_LABELS[s.status]),
            format_delay(s.overdue_by),
            str(s.current_id),
        ]
        for s in report.rows
    ]


def summary_lines(report: DirectiveReport, *, zone: str | None = None) -> list[str]:
    """The header and totals of the report, as lines of text in the current language."""
    d, t = report.directive, report.totals
    tz = report_zone(report, zone)
    return [
        f"{d.number} — {d.issuing_body}, {d.place}, {format_day(d.issued_on)}",
        d.subject,
        _("as of {moment} ({zone})", moment=format_moment(report.at, tz), zone=tz.key),
        _(
            "items: {items}; done: {done} ({percent}%), on time {on_time}, late {late}; "
            "in progress: {open}; overdue: {overdue}",
            items=t.items,
            done=t.done,
            percent=format_decimal(t.percent_done),
            on_time=t.done_on_time,
            late=t.done_late,
            open=t.open,
            overdue=t.overdue,
        ),
    ]


def render_csv(
    report: DirectiveReport, *, bom: bool = False, codes: bool = False, zone: str | None = None
) -> str:
    """The table as CSV in the current language; a text cell that a spreadsheet would run as a
    formula is neutralised (:func:`workflow.office.neutralise`); ``bom`` starts it with a
    byte-order mark for Excel."""
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers())
    rows = table_rows(report, codes=codes, zone=zone)
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def render_markdown(
    report: DirectiveReport, *, codes: bool = False, zone: str | None = None
) -> str:
    def cells(values: Any) -> str:
        return "| " + " | ".join(str(v).replace("|", "\\|") for v in values) + " |"

    names = headers()
    lines = [f"# {report.directive.number}", ""]
    lines += [f"- {line}" for line in summary_lines(report, zone=zone)[1:]]
    lines += ["", cells(names), cells(["---"] * len(names))]
    lines += [cells(row) for row in table_rows(report, codes=codes, zone=zone)]
    return "\n".join(lines) + "\n"


def report_json(report: DirectiveReport) -> dict[str, Any]:
    """The report as JSON values (instants in ISO-8601 UTC, delays in seconds)."""
    d, t = report.directive, report.totals

    def instant(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat().replace("+00:00", "Z")

    return {
        "directive": {
            "number": d.number,
            "issuing_body": d.issuing_body,
            "place": d.place,
            "issued_on": d.issued_on,
            "subject": d.subject,
            "timezone": d.timezone,
        },
        "at": instant(report.at),
        "totals": {
            "items": t.items,
            "done": t.done,
            "done_on_time": t.done_on_time,
            "done_late": t.done_late,
            "open": t.open,
            "overdue": t.overdue,
            "percent_done": t.percent_done,
        },
        "units": [u.__dict__ for u in report.units],
        "items": [
            {
                **{k: v for k, v in s.__dict__.items() if k not in ("due_at", "completed_at")},
                "due_at": instant(s.due_at),
                "completed_at": instant(s.completed_at),
                "overdue_by": None if s.overdue_by is None else int(s.overdue_by.total_seconds()),
            }
            for s in report.rows
        ],
    }
