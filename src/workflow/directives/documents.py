"""The directive report as office files: an xlsx workbook and a printable HTML page.

The workbook has one sheet per view (``Tổng hợp``: the heading and totals; ``Đơn vị``: one row
per unit; ``Chi tiết``: one row per unit and item), Vietnamese headers, real date cells in the
directive's zone, overdue rows filled, the header row frozen and columns fitted to their text.
The HTML page is self-contained (its style inline, no script, nothing fetched) and prints on A4
with the dispatch's heading, for the Office to attach to its summary report; it is rendered by
Jinja2 with autoescape on, so no text from a directive or a unit can become markup.
Both need the ``office`` extra (:func:`workflow.office.require`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from workflow.directives.report import (
    DONE_LATE,
    OVERDUE,
    STATUS_LABELS,
    DirectiveReport,
    ItemStatus,
)
from workflow.i18n import format_span, in_language, use_language
from workflow.office import Column, Sheet, require, write_workbook

DETAIL_COLUMNS = (
    Column("Mã đơn vị"),
    Column("Đơn vị"),
    Column("Mục"),
    Column("Giai đoạn"),
    Column("Tình trạng"),
    Column("Hạn", "instant"),
    Column("Kết quả"),
    Column("Trễ hạn"),
    Column("Hoàn thành lúc", "instant"),
    Column("Hồ sơ", "number"),
)
UNIT_COLUMNS = (
    Column("Mã đơn vị"),
    Column("Đơn vị"),
    Column("Số mục", "number"),
    Column("Đã hoàn thành", "number"),
    Column("Quá hạn hoặc trễ hạn", "number"),
)
SUMMARY_COLUMNS = (Column("Nội dung"), Column("Giá trị", "auto"))


def delay_vi(delta: timedelta | None) -> str:
    """``3 ngày 04 giờ``: how long past the deadline, in Vietnamese."""
    with use_language("vi"):
        return format_span(delta)


def status_vi(status: str) -> str:
    """The status in words, in Vietnamese (``quá hạn``), whatever the current language."""
    return in_language(STATUS_LABELS[status], "vi")


def _late(status: str) -> bool:
    return status in (OVERDUE, DONE_LATE)


def _detail_rows(report: DirectiveReport) -> Iterator[list[Any]]:
    for s in report.rows:
        yield [
            s.unit or "",
            s.unit_name,
            s.item,
            f"{s.workflow}.{s.state}",
            s.state_label,
            s.due_at,
            status_vi(s.status),
            delay_vi(s.overdue_by),
            s.completed_at,
            s.current_id,
            _late(s.status),
        ]


def _summary_rows(report: DirectiveReport) -> list[list[Any]]:
    d, t = report.directive, report.totals
    return [
        ["Số", d.number],
        ["Cơ quan ban hành", d.issuing_body],
        ["Nơi ban hành", d.place],
        ["Ngày ban hành", date.fromisoformat(d.issued_on)],
        ["Trích yếu", d.subject],
        ["Tính đến", report.at],
        ["Múi giờ", d.timezone],
        ["Tổng số mục", t.items],
        ["Đã hoàn thành", t.done],
        ["Hoàn thành đúng hạn", t.done_on_time],
        ["Hoàn thành trễ hạn", t.done_late],
        ["Đang thực hiện", t.open],
        ["Quá hạn", t.overdue],
        ["Tỷ lệ hoàn thành (%)", t.percent_done],
    ]


def write_report_xlsx(report: DirectiveReport, out: IO[bytes]) -> None:
    """The report as an xlsx workbook written to ``out`` (a binary file)."""
    summary = Sheet("Tổng hợp", SUMMARY_COLUMNS, _summary_rows(report))
    summary.notes.append(f"Báo cáo tiến độ thực hiện {report.directive.number}")
    units = Sheet(
        "Đơn vị",
        UNIT_COLUMNS,
        ([u.unit or "", u.unit_name, u.items, u.done, u.overdue, u.overdue > 0]
         for u in report.units),
        highlight=len(UNIT_COLUMNS),
    )  # fmt: skip
    details = Sheet("Chi tiết", DETAIL_COLUMNS, _detail_rows(report), highlight=len(DETAIL_COLUMNS))
    write_workbook((summary, units, details), out, report.directive.timezone, streamed=False)


# --- the printable page --------------------------------------------------------------------------


def _national_heading(issuing_body: str) -> tuple[str, str]:
    """The right-hand heading of a dispatch: the Party's for a Party body, else the State's."""
    if issuing_body.lower().startswith(("đảng", "ban ", "ủy ban kiểm tra", "chi bộ")):
        return "ĐẢNG CỘNG SẢN VIỆT NAM", ""
    return "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def render_report_html(report: DirectiveReport) -> str:
    """The report as one self-contained HTML page, to print on A4."""
    jinja2 = require("jinja2")
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("workflow.directives", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    d = report.directive
    zone = ZoneInfo(d.timezone)
    issued = date.fromisoformat(d.issued_on)
    motto, motto_line = _national_heading(d.issuing_body)

    def item_row(s: ItemStatus) -> dict[str, Any]:
        return {
            "unit": s.unit or "",
            "unit_name": s.unit_name,
            "item": s.item,
            "state_label": s.state_label,
            "due": _when(s.due_at, zone),
            "status": status_vi(s.status),
            "delay": delay_vi(s.overdue_by),
            "late": _late(s.status),
        }

    return str(
        environment.get_template("report.html.j2").render(
            d=d,
            parent_body=str(d.document.get("parent_body", "")),
            date_line=str(d.document.get("date_as_written", ""))
            or f"{d.place}, ngày {issued.day:02d} tháng {issued.month} năm {issued.year}",
            motto=motto,
            motto_line=motto_line,
            at=_when(report.at, zone),
            totals=report.totals,
            units=report.units,
            rows=[item_row(s) for s in report.rows],
        )
    )
