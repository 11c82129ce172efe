"""Office files: text cells safe to open in a spreadsheet, and xlsx sheets written as a stream.

Shared by the directive report and the audit export (:mod:`workflow.directives.documents`,
:mod:`workflow.auditing.export`). Three rules hold for every file they write:

- **Formulas are never injected.** A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab
  or a carriage return gets a leading apostrophe (OWASP, "CSV injection"), in CSV and in xlsx
  alike; numbers and dates are written as numbers and dates, never as text.
- **Dates are dates.** Instants become real spreadsheet date cells (``dd/mm/yyyy hh:mm``) in the
  zone the caller names (Excel cells carry no zone: the header says which).
- **Constant memory.** Sheets are written with XlsxWriter's ``constant_memory`` mode: each row is
  flushed to a temporary file as soon as the next one starts, so a million audit events take
  the memory of one row (``bench/office.py``: 1,000,000 events in 133 MB peak RSS, the process
  and its imports included). XlsxWriter was chosen over openpyxl's write-only mode by
  measurement: 200,000 rows of ten cells took 11.0 s against 18.3 s, both in about 23 MB
  (docs/performance.md, "Office files").

The xlsx and HTML writers need the ``office`` extra (``pip install 'directive-workflow[office]'``);
without it they raise :class:`~workflow.errors.MissingExtra`, which says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import ModuleType
from typing import IO, Any
from zoneinfo import ZoneInfo

from workflow.errors import MissingExtra

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may read as the start of a formula (OWASP's list)."""

BOM = "\ufeff"
"""The UTF-8 byte-order mark that makes Excel on Windows read a CSV file as UTF-8."""

EXCEL_MAX_ROWS = 1_048_576
"""Rows in one Excel sheet, header included; a longer view continues on a sheet named "… (2)"."""

MAX_COLUMN_WIDTH = 60
SAMPLED_ROWS = 1000
"""Column widths are fitted to the header and the first rows of a streamed view."""

DATE_FORMAT = "dd/mm/yyyy hh:mm"
DAY_FORMAT = "dd/mm/yyyy"
OVERDUE_FILL = "#F8CBAD"
HEADER_FILL = "#DDEBF7"


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: ``'=1+2`` for ``=1+2``."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def require(module: str, extra: str = "office") -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtra` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(module, extra) from None


# --- xlsx ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a sheet: its Vietnamese header and the kind of its cells.

    ``kind``: ``text`` (neutralised), ``number``, ``instant`` (an aware datetime, shown in the
    sheet's zone), ``day`` (a date) or ``auto`` (each cell by its value's type).
    """

    header: str
    kind: str = "text"


@dataclass
class Sheet:
    """One view of a workbook: its name, its columns, its rows (an iterable, read once)."""

    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    highlight: int | None = None
    """The index of a boolean column that is not shown: rows where it is true are filled."""
    notes: list[str] = field(default_factory=list)
    """Lines written above the header (a title, the heading); the header row is frozen below."""


def write_workbook(
    sheets: Iterable[Sheet], out: IO[bytes], zone: str, *, streamed: bool = True
) -> dict[str, int]:
    """Write ``sheets`` to ``out`` as one xlsx workbook; returns the rows written per view.

    ``streamed``: each row flushed as the next starts (constant memory, for logs of any length);
    without it the cells are kept until the end, which shares repeated texts (a report already
    held in memory: about a tenth faster)."""
    xlsxwriter = require("xlsxwriter")
    book = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": streamed,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    styles = _Styles(book)
    written: dict[str, int] = {}
    try:
        for sheet in sheets:
            written[sheet.name] = _write_sheet(book, styles, sheet, ZoneInfo(zone))
    finally:
        book.close()
    return written


class _Styles:
    def __init__(self, book: Any) -> None:
        self.header = book.add_format(
            {"bold": True, "bg_color": HEADER_FILL, "border": 1, "text_wrap": True}
        )
        self.note = book.add_format({"bold": True})
        self.plain = {  # no format for plain text and numbers: a blank cell is then not written
            "text": None,
            "number": None,
            "instant": book.add_format({"num_format": DATE_FORMAT}),
            "day": book.add_format({"num_format": DAY_FORMAT}),
        }
        self.overdue = {
            "text": book.add_format({"bg_color": OVERDUE_FILL}),
            "number": book.add_format({"bg_color": OVERDUE_FILL}),
            "instant": book.add_format({"num_format": DATE_FORMAT, "bg_color": OVERDUE_FILL}),
            "day": book.add_format({"num_format": DAY_FORMAT, "bg_color": OVERDUE_FILL}),
        }


def _write_sheet(book: Any, styles: _Styles, sheet: Sheet, zone: ZoneInfo) -> int:
    rows = iter(sheet.rows)
    sample = [row for _, row in zip(range(SAMPLED_ROWS), rows, strict=False)]
    widths = _fitted_widths(sheet.columns, sample, zone)
    part, count = 1, 0
    page = _open_page(book, styles, sheet, sheet.name, widths)
    first = row_at = len(sheet.notes) + 1
    for row in _chain(sample, rows):
        if row_at == EXCEL_MAX_ROWS:
            page.autofilter(first - 1, 0, row_at - 1, len(sheet.columns) - 1)
            part += 1
            page = _open_page(book, styles, sheet, f"{sheet.name[:26]} ({part})", widths)
            row_at = first
        late = sheet.highlight is not None and bool(row[sheet.highlight])
        formats = styles.overdue if late else styles.plain
        for col, (column, value) in enumerate(zip(sheet.columns, row, strict=False)):
            kind = _kind_of(value) if column.kind == "auto" else column.kind
            _write_cell(page, row_at, col, kind, value, formats[kind], zone)
        row_at += 1
        count += 1
    if row_at > first:
        page.autofilter(first - 1, 0, row_at - 1, len(sheet.columns) - 1)
    return count


def _chain(sample: list[Sequence[Any]], rest: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield from sample
    yield from rest


def _open_page(book: Any, styles: _Styles, sheet: Sheet, name: str, widths: list[float]) -> Any:
    page = book.add_worksheet(name)
    for col, fitted in enumerate(widths):
        page.set_column(col, col, fitted)
    for at, note in enumerate(sheet.notes):
        page.write_string(at, 0, neutralise(note), styles.note)
    header_row = len(sheet.notes)
    for col, column in enumerate(sheet.columns):
        page.write_string(header_row, col, column.header, styles.header)
    page.freeze_panes(header_row + 1, 0)
    return page


def _kind_of(value: Any) -> str:
    if isinstance(value, datetime):
        return "instant"
    if isinstance(value, date):
        return "day"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    return "text"


def _write_cell(
    page: Any, row: int, col: int, kind: str, value: Any, style: Any, zone: ZoneInfo
) -> None:
    if value is None or value == "":
        page.write_blank(row, col, None, style)  # nothing is written without a style
    elif kind == "instant":
        page.write_datetime(row, col, value.astimezone(zone).replace(tzinfo=None), style)
    elif kind == "day":
        page.write_datetime(row, col, datetime.combine(value, datetime.min.time()), style)
    elif kind == "number":
        page.write_number(row, col, value, style)
    else:
        page.write_string(row, col, neutralise(str(value)), style)


def _fitted_widths(
    columns: Sequence[Column], sample: Sequence[Sequence[Any]], zone: ZoneInfo
) -> list[float]:
    """Widths in Excel's character units that fit the header and the sampled cells."""
    widths = [max(len(word) for word in c.header.split()) + 2.0 for c in columns]
    for row in sample:
        for col, (column, value) in enumerate(zip(columns, row, strict=False)):
            kind = _kind_of(value) if column.kind == "auto" else column.kind
            widths[col] = max(widths[col], _shown_length(kind, value) + 2.0)
    return [min(w, MAX_COLUMN_WIDTH) for w in widths]


def _shown_length(kind: str, value: Any) -> int:
    if value is None:
        return 0
    if kind == "instant":
        return len("dd/mm/yyyy hh:mm")
    if kind == "day" and isinstance(value, date):
        return len("dd/mm/yyyy")
    return len(str(value)) + 1
