"""Directives: official documents fanned out to units as workflow instances.

A directive file names its items, the units (or kinds of units) each item addresses and their
deadlines; :mod:`~workflow.directives.files` reads and validates such files and the unit
registry through the strict YAML loader, :mod:`~workflow.directives.imports` writes the directive
and starts one instance per unit and item in one transaction, :mod:`~workflow.directives.report`
shows where every unit stands (the CLI's ``workflow demo`` plays a whole directive through
on a frozen clock with these verbs). See ``docs/directives.md``.
"""

from __future__ import annotations

from workflow.directives.documents import render_report_html, write_report_xlsx
from workflow.directives.files import DirectiveFileError, parse_deadline
from workflow.directives.imports import (
    DirectiveConflict,
    DirectiveImport,
    DirectiveRecord,
    Unit,
    UnitsImport,
    get_directive,
    import_directive,
    import_units,
    list_directives,
    list_units,
    report_difficulty,
)
from workflow.directives.report import HEADERS as REPORT_HEADERS
from workflow.directives.report import (
    DirectiveReport,
    ItemStatus,
    directive_report,
    render_csv,
    render_markdown,
    report_json,
)
from workflow.directives.report import headers as report_headers
from workflow.directives.report import summary_lines as report_summary_lines
from workflow.directives.report import table_rows as report_table_rows

__all__ = [
    "REPORT_HEADERS",
    "DirectiveConflict",
    "DirectiveFileError",
    "DirectiveImport",
    "DirectiveRecord",
    "DirectiveReport",
    "ItemStatus",
    "Unit",
    "UnitsImport",
    "directive_report",
    "get_directive",
    "import_directive",
    "import_units",
    "list_directives",
    "list_units",
    "parse_deadline",
    "render_csv",
    "render_markdown",
    "render_report_html",
    "report_difficulty",
    "report_headers",
    "report_json",
    "report_summary_lines",
    "report_table_rows",
    "write_report_xlsx",
]
