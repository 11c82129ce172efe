"""Audit exports (JSON Lines or CSV) that carry everything needed to re-verify them offline.

Every exported event carries each hashed field exactly as it was hashed (``payload``, ``data``
and ``actor_roles`` as their canonical JSON text, ``occurred_at`` in the hash's own spelling),
its ``hash``, and the head of its instance (``head_state``, ``head_version``,
``head_last_hash``). A JSON Lines export starts with a header record saying which filters made
it; a CSV export is one header row of column names, then one row per event.

In CSV a null is written ``\\N`` (as PostgreSQL's COPY does) and a text beginning with a
backslash gets one more; a text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``,
tab, carriage return) or beginning with an apostrophe gets a leading apostrophe (OWASP's advice on
CSV injection), so every value reads back exactly and none runs when the file is opened in Excel.
An optional byte-order mark at the start is skipped on reading.

An xlsx export (:func:`write_xlsx`) is for people, not for verification: one sheet of events with
Vietnamese headers and real date cells, and with ``admin_records`` one of the administrators' log.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from workflow.errors import InvalidInput
from workflow.hashchain.encoding import (
    HASHED_FIELDS,
    OPTIONAL_HASHED_FIELDS,
    event_hash,
    format_instant,
)
from workflow.hashchain.report import ChainProblem, VerificationReport
from workflow.hashchain.verifier import ChainVerifier, head_of, verify_rows
from workflow.limits import bounded_lines, parse_json
from workflow.office import BOM, Column, Sheet, neutralise, write_workbook

EXPORT_FORMAT = "workflow-audit-export"
EXPORT_VERSION = 1
HEAD_FIELDS = ("head_state", "head_version", "head_last_hash")
EXPORT_FIELDS = (*HASHED_FIELDS, *OPTIONAL_HASHED_FIELDS, "hash", *HEAD_FIELDS)
# an export written before the optional hashed fields existed lacks them: read as null
_REQUIRED_FIELDS = tuple(f for f in EXPORT_FIELDS if f not in OPTIONAL_HASHED_FIELDS)
ADMIN_EXPORT_FIELDS = (
    "seq", "action", "subject", "actor", "detail", "occurred_at", "prev_hash", "hash",
)  # fmt: skip
"""An administrators' log event as exported: ``detail`` its canonical JSON text, ``occurred_at``
in the hash's spelling, as hashed."""
_INTEGER_FIELDS = frozenset({"instance_id", "seq", "definition_version", "head_version"})
_NULL = "\\N"


def export_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """One audit row (with its instance head) as an export record, in :data:`EXPORT_FIELDS`."""
    record = {name: row.get(name) for name in EXPORT_FIELDS}
    occurred = record["occurred_at"]
    if isinstance(occurred, datetime):
        record["occurred_at"] = format_instant(occurred)
    return record


def export_header(
    filters: Mapping[str, Any],
    whole_chains: bool,
    exported_at: datetime,
    *,
    admin_log: bool = False,
) -> dict[str, Any]:
    """The first record of a JSON Lines export; ``admin_log``: the administrators' log follows
    the events (``"record": "admin"`` lines)."""
    return {
        "record": "header",
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": format_instant(exported_at),
        "filters": dict(filters),
        "whole_chains": whole_chains,
        "admin_log": admin_log,
        "fields": list(EXPORT_FIELDS),
    }


def write_jsonl(
    rows: Iterable[Mapping[str, Any]],
    out: IO[str],
    header: Mapping[str, Any],
    admin_records: Iterable[Mapping[str, Any]] = (),
) -> int:
    """Write the header, one event per line, then the administrators' log records given;
    returns the number of events written."""
    out.write(json.dumps(dict(header), ensure_ascii=False) + "\n")
    count = 0
    for row in rows:
        out.write(json.dumps({"record": "event", **export_record(row)}, ensure_ascii=False))
        out.write("\n")
        count += 1
    for record in admin_records:
        out.write(json.dumps({"record": "admin", **record}, ensure_ascii=False) + "\n")
    return count


def _csv_cell(value: Any) -> Any:
    if value is None:
        return _NULL
    if isinstance(value, str) and value.startswith("\\"):
        return "\\" + value
    if isinstance(value, str) and value.startswith("'"):
        return "'" + value
    return neutralise(value) if isinstance(value, str) else value


def _csv_value(name: str, text: str) -> Any:
    if text == _NULL:
        return None
    if text.startswith(("\\", "'")):
        return text[1:]
    return int(text) if name in _INTEGER_FIELDS else text


def write_csv(rows: Iterable[Mapping[str, Any]], out: IO[str], *, bom: bool = False) -> int:
    """Write a header row then one row per event; returns the number of events written.

    ``bom``: start with a byte-order mark, so Excel reads the file as UTF-8."""
    if bom:
        out.write(BOM)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_FIELDS)
    count = 0
    for row in rows:
        record = export_record(row)
        writer.writerow([_csv_cell(record[name]) for name in EXPORT_FIELDS])
        count += 1
    return count


EVENT_COLUMNS = (
    Column("Hồ sơ", "number"),
    Column("STT", "number"),
    Column("Thời điểm", "instant"),
    Column("Quy trình"),
    Column("Phiên bản", "number"),
    Column("Loại"),
    Column("Thao tác"),
    Column("Từ trạng thái"),
    Column("Đến trạng thái"),
    Column("Người thực hiện"),
    Column("Vai trò"),
    Column("Đơn vị"),
    Column("Lý do"),
    Column("Dữ liệu gửi kèm"),
    Column("Mã băm"),
)
ADMIN_COLUMNS = (
    Column("STT", "number"),
    Column("Thời điểm", "instant"),
    Column("Hành động"),
    Column("Đối tượng"),
    Column("Người thực hiện"),
    Column("Chi tiết"),
    Column("Mã băm"),
)


def _event_cells(row: Mapping[str, Any]) -> list[Any]:
    roles = row["actor_roles"]
    if isinstance(roles, str):
        roles = json.loads(roles)
    return [
        int(row["instance_id"]),
        int(row["seq"]),
        _aware(row["occurred_at"]),
        row["workflow"],
        int(row["definition_version"]),
        row["kind"],
        row["trigger"],
        row["from_state"],
        row["to_state"],
        row["actor"],
        ", ".join(roles),
        row["actor_unit"],
        row["reason"],
        row["payload"] if row["payload"] not in ("{}", None) else None,
        row["hash"],
    ]


def _admin_cells(record: Mapping[str, Any]) -> list[Any]:
    return [
        int(record["seq"]),
        _aware(record["occurred_at"]),
        record["action"],
        record["subject"],
        record["actor"],
        record["detail"],
        record["hash"],
    ]


def _aware(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def write_xlsx(
    rows: Iterable[Mapping[str, Any]],
    out: IO[bytes],
    zone: str,
    admin_records: Iterable[Mapping[str, Any]] | None = None,
) -> int:
    """Write the events (and a sheet of the administrators' log records, when given) as an xlsx
    workbook, in constant memory, times in ``zone``; returns the number of events written."""
    heading = f"Thời điểm theo múi giờ {zone}"
    events = Sheet("Sự kiện", EVENT_COLUMNS, (_event_cells(r) for r in rows), notes=[heading])
    sheets = [events]
    if admin_records is not None:
        cells = (_admin_cells(r) for r in admin_records)
        sheets.append(Sheet("Nhật ký quản trị", ADMIN_COLUMNS, cells, notes=[heading]))
    written = write_workbook(sheets, out, zone)
    return written[events.name]


@dataclass
class ExportFile:
    """An opened export: its header (``{}`` for CSV) and its events, read lazily; the
    administrators' log records (after the events in the file) are in ``admin`` once the events
    have been read to the end."""

    header: dict[str, Any]
    events: Iterator[dict[str, Any]]
    admin: list[dict[str, Any]] = field(default_factory=list)

    @property
    def whole_chains(self) -> bool:
        return bool(self.header.get("whole_chains"))


def read_export(handle: IO[str], name: str = "export") -> ExportFile:
    """Open a JSON Lines or CSV export (told apart by its first line); each line is read up to
    :data:`~workflow.limits.MAX_LINE_CHARS` and no further."""
    lines = bounded_lines(handle, name)
    first = next(lines, "").removeprefix(BOM)
    if first.startswith("{"):
        header = _json_line(first, name, 1)
        if header.get("format") != EXPORT_FORMAT:
            raise InvalidInput(f"{name} is not a workflow audit export (no header record)")
        admin: list[dict[str, Any]] = []
        return ExportFile(header, _jsonl_events(lines, name, admin), admin)
    columns = next(csv.reader([first]), [])
    missing = [c for c in _REQUIRED_FIELDS if c not in columns]
    if missing:
        raise InvalidInput(
            f"{name} is neither a JSON Lines nor a CSV audit export "
            f"(missing columns: {', '.join(missing)})"
        )
    return ExportFile({}, _csv_events(lines, columns, name))


def _json_line(text: str, name: str, number: int) -> dict[str, Any]:
    value = parse_json(text, f"{name}, line {number}")
    if not isinstance(value, dict):
        raise InvalidInput(f"{name}, line {number}: not a JSON object")
    return value


def _checked(
    record: dict[str, Any], name: str, number: int, fields: tuple[str, ...] = _REQUIRED_FIELDS
) -> dict[str, Any]:
    missing = [f for f in fields if f not in record]
    if missing:
        raise InvalidInput(f"{name}, line {number}: missing {', '.join(missing)}")
    return record


def _jsonl_events(
    lines: Iterator[str], name: str, admin: list[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        record = _json_line(line, name, number)
        if record.get("record") == "admin":
            admin.append(_checked(record, name, number, ADMIN_EXPORT_FIELDS))
        else:
            yield _checked(record, name, number)


def _csv_events(lines: Iterator[str], columns: list[str], name: str) -> Iterator[dict[str, Any]]:
    for number, cells in enumerate(csv.reader(lines), start=2):
        if len(cells) != len(columns):
            raise InvalidInput(f"{name}, line {number}: {len(cells)} cells for {len(columns)}")
        try:
            yield {col: _csv_value(col, text) for col, text in zip(columns, cells, strict=True)}
        except ValueError:
            raise InvalidInput(f"{name}, line {number}: a number column is not a number") from None


@dataclass
class PartialVerification:
    """Checks what a filtered export allows: each event's own hash, and links and states between
    consecutive events; a chain counts as ``partial`` when events of it were filtered out."""

    report: VerificationReport = field(default_factory=VerificationReport)
    partial_chains: int = 0


def verify_events(rows: Iterable[Mapping[str, Any]], *, whole_chains: bool) -> PartialVerification:
    """Verify exported events sorted by (instance, seq), streaming.

    ``whole_chains`` demands complete chains (seq 1..n agreeing with the instance head), as the
    database check does; otherwise gaps are allowed and only what is present is checked.
    """
    if whole_chains:
        return PartialVerification(verify_rows(rows))
    result = PartialVerification()
    chain: _Gapped | None = None
    for row in rows:
        if chain is None or chain.instance_id != int(row["instance_id"]):
            if chain is not None:
                chain.close(result)
            chain = _Gapped(int(row["instance_id"]), head_of(row))
        chain.feed(row)
        result.report.events += 1
    if chain is not None:
        chain.close(result)
    return result


class _Gapped:
    """One chain with events possibly filtered out: a fresh link check after every gap."""

    def __init__(self, instance_id: int, head: Any) -> None:
        self.instance_id = instance_id
        self.head = head
        self.inner = ChainVerifier(instance_id)
        self.first_seq: int | None = None
        self.last_seq = 0
        self.gaps = False
        self.problem: ChainProblem | None = None

    def feed(self, row: Mapping[str, Any]) -> None:
        if self.problem is not None:
            return
        seq = int(row["seq"])
        if seq <= self.last_seq:
            self.problem = ChainProblem(self.instance_id, seq, "duplicated or reordered")
            return
        if event_hash(row) != row["hash"]:
            self.problem = ChainProblem(
                self.instance_id, seq, "content does not match its hash (the event was edited)"
            )
            return
        if self.first_seq is None or seq != self.last_seq + 1:
            self.gaps = self.gaps or self.first_seq is not None or seq != 1
            self.first_seq = self.first_seq or seq
            self.inner = ChainVerifier(self.instance_id)
            self.inner.expected_seq = seq
            self.inner.prev_hash = str(row["prev_hash"])
        self.inner.feed(row)
        self.problem = self.inner.problem
        self.last_seq = seq

    def close(self, result: PartialVerification) -> None:
        result.report.chains += 1
        problem = self.problem
        if problem is None and not self.gaps and self.head is not None:
            if self.last_seq == self.head.version:
                problem = self.inner.finish(self.head)
            elif self.last_seq > self.head.version:
                problem = ChainProblem(
                    self.instance_id,
                    self.head.version + 1,
                    f"the chain runs past the instance version {self.head.version}",
                )
            else:
                result.partial_chains += 1
        elif problem is None:
            result.partial_chains += 1
        if problem is not None:
            result.report.problems.append(problem)
