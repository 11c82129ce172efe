"""Directive and unit files: strict YAML → checked, frozen values, with file and line on errors.

A directive file transcribes one dispatch (number, issuing body, place, date, subject,
recipients) and the items it orders; each item names the workflow that carries it, its lead unit
(chủ trì), its coordinating units (phối hợp), its addressees and its deadline as written
("trước ngày 15/9/2020"). Nothing here touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workflow.clock import EARLIEST, LATEST, require_aware
from workflow.definition.loader import schema_issues
from workflow.definition.yamlsafe import dotted, read_file, read_yaml
from workflow.errors import DefinitionError, DefinitionIssue, InvalidInput
from workflow.i18n import _
from workflow.workdays import MAX_WORKING_DAYS, ZONE, WorkCalendar

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)]


class DirectiveFileError(InvalidInput):
    """A directive or units file is malformed; ``issues`` lists every problem with its line."""

    def __init__(self, what: str, issues: list[DefinitionIssue]) -> None:
        self.issues = tuple(issues)
        count = len(self.issues)
        head = f"invalid {what} ({count} problem{'s' if count != 1 else ''})"
        super().__init__(head + "\n" + "\n".join(f"  {issue}" for issue in self.issues))


# --- deadlines as written -------------------------------------------------------------------------

# a date as dispatches write it: 15/9/2020, 15-9-2020, 15.9.2020 or "15 tháng 9 năm 2020"
_DATE = r"(\d{1,2})(?:/|-|\.|\s+tháng\s+)(\d{1,2})(?:/|-|\.|\s+năm\s+)(\d{4})"
_BEFORE = re.compile(rf"^(?:hoàn\s+thành\s+)?trước\s+ngày\s+{_DATE}$", re.IGNORECASE)
_BY = re.compile(
    rf"^(?:(?:hoàn\s+thành\s+)?(?:chậm\s+nhất\s+(?:là\s+|vào\s+)?|đến\s+|hạn\s+(?:chót\s+)?"
    rf"(?:là\s+)?|trong\s+))?ngày\s+{_DATE}$",
    re.IGNORECASE,
)
_WITHIN = re.compile(
    r"^(?:hoàn\s+thành\s+)?trong\s+(?:vòng\s+|thời\s+hạn\s+)?(\d{1,4})\s+ngày(\s+làm\s+việc)?"
    r"\s*,?\s*kể\s+từ\s+ngày\s+(?:ký|ban\s+hành)(?:\s+ban\s+hành)?(?:\s+công\s+văn(?:\s+này)?)?$",
    re.IGNORECASE,
)


def parse_deadline(
    text: str,
    timezone: str,
    *,
    signed_on: date | None = None,
    calendar: WorkCalendar | None = None,
) -> datetime:
    """The instant a written deadline ends, in UTC.

    "trước ngày 15/9/2020" (before the 15th) ends at the start of that day, local time;
    "ngày 15/9/2020", "đến ngày …", "chậm nhất (là) ngày …", "hạn chót ngày …" (by the 15th)
    end at the end of it; a date may also be written "15 tháng 9 năm 2020".
    "trong 05 ngày làm việc kể từ ngày ký" ends at the end of the fifth working day after
    ``signed_on`` (the day of signing not counted, as the Civil Code counts spans of days) on
    Vietnam's calendar with ``calendar``'s declarations (:mod:`workflow.workdays`);
    "trong 10 ngày kể từ ngày ký" at the end of the tenth calendar day after it.
    """
    zone = _zone(timezone)
    written = " ".join(unicodedata.normalize("NFC", text).split())
    within = _WITHIN.match(written)
    if within:
        return _within(text, int(within[1]), bool(within[2]), timezone, signed_on, calendar)
    for pattern, extra in ((_BEFORE, timedelta(0)), (_BY, timedelta(days=1))):
        match = pattern.match(written)
        if match:
            day, month, year = (int(g) for g in match.groups())
            try:
                local = datetime(year, month, day, tzinfo=zone)
            except ValueError as exc:
                raise ValueError(f"deadline {text!r}: {exc}") from None
            try:
                return require_aware(local + extra, f"deadline {text!r}")
            except (InvalidInput, OverflowError):
                raise ValueError(
                    _(
                        "deadline {text!r} is out of range (years {first} to {last})",
                        text=text,
                        first=EARLIEST.year,
                        last=LATEST.year,
                    )
                ) from None
    raise ValueError(
        _(
            "deadline {text!r} is not understood; write it as in the dispatch: "
            "'trước ngày 15/9/2020', 'chậm nhất ngày 15/9/2020', 'ngày 15 tháng 9 năm 2020' "
            "or 'trong 05 ngày làm việc kể từ ngày ký'",
            text=text,
        )
    )


def counts_working_days(text: str) -> bool:
    """Whether a deadline as written counts working days ("trong 05 ngày làm việc ...")."""
    match = _WITHIN.match(" ".join(unicodedata.normalize("NFC", text).split()))
    return bool(match and match[2])


def _within(
    text: str,
    count: int,
    working: bool,
    timezone: str,
    signed_on: date | None,
    calendar: WorkCalendar | None,
) -> datetime:
    """The end of ``count`` (working) days after the day of signing."""
    if signed_on is None:
        raise ValueError(
            _("deadline {text!r} counts from the day of signing: give the date", text=text)
        )
    if count == 0 or count > MAX_WORKING_DAYS:
        raise ValueError(
            _(
                "deadline {text!r}: the days must be between 1 and {limit:,}",
                text=text,
                limit=MAX_WORKING_DAYS,
            )
        )
    if not working:
        end = datetime.combine(signed_on + timedelta(days=count + 1), time(0), _zone(timezone))
        return end.astimezone(UTC)
    if timezone != ZONE:
        raise ValueError(
            _(
                "deadline {text!r}: working days follow Vietnam's calendar in {zone}, not {other}",
                text=text,
                zone=ZONE,
                other=timezone,
            )
        )
    try:
        return (calendar or WorkCalendar()).end_of(signed_on, count)
    except InvalidInput as exc:  # the holidays package missing, or a year it does not cover
        raise ValueError(f"deadline {text!r}: {exc}") from None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (e.g. Asia/Ho_Chi_Minh)") from None


# --- the file formats -----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitModel(_Strict):
    code: Code
    name_vi: Annotated[str, Field(min_length=1)]
    name_en: Annotated[str, Field(min_length=1)]
    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=50)]
    parent: Code | None = None


class UnitsModel(_Strict):
    units: Annotated[list[UnitModel], Field(min_length=1)]


class KindSelector(_Strict):
    """Every registered unit of one kind (``{kind: base}``: all base party organisations)."""

    kind: Annotated[str, Field(min_length=1)]


class ItemModel(_Strict):
    key: Annotated[str, Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]*$", max_length=20)]
    title: Annotated[str, Field(min_length=1)]
    text: str = ""
    workflow: Code
    lead: Code | None = None
    coordinating: list[Code] = []
    addressees: list[Code] | KindSelector | None = None
    deadline: str | None = None
    on_demand: bool = False


class DirectiveModel(_Strict):
    number: Annotated[str, Field(min_length=1, max_length=100)]
    parent_body: str = ""
    issuing_body: Annotated[str, Field(min_length=1)]
    issuer: Code | None = None
    place: Annotated[str, Field(min_length=1)]
    date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    date_as_written: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    subject: Annotated[str, Field(min_length=1)]
    implements: str = ""
    addressed_to: list[str] = []
    recipients: list[str] = []
    signatory: str = ""
    items: Annotated[list[ItemModel], Field(min_length=1)]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        _zone(value)
        return value

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        date.fromisoformat(value)
        return value


# --- frozen results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One numbered item of a directive, with its deadline as an instant."""

    key: str
    title: str
    text: str
    workflow: str
    lead: str | None
    coordinating: tuple[str, ...]
    addressees: tuple[str, ...] | None
    addressee_kind: str | None
    deadline_text: str | None
    deadline: datetime | None
    on_demand: bool
    line: int | None


@dataclass(frozen=True)
class DirectiveHeading:
    """What identifies a directive: its number, who issued it, where, when, and about what."""

    number: str
    issuing_body: str
    place: str
    issued_on: str
    subject: str
    timezone: str

    def heading(self) -> dict[str, str]:
        """The heading's fields by name (the columns of the ``directives`` table)."""
        return {f.name: getattr(self, f.name) for f in fields(DirectiveHeading)}


@dataclass(frozen=True)
class DirectiveDoc(DirectiveHeading):
    """A parsed directive file; ``document`` is the file's content as plain JSON values."""

    items: tuple[Item, ...]
    document: dict[str, Any]
    source_file: str


def _read(path: str | Path, what: str) -> tuple[str, object, Any]:
    file = Path(path)
    try:
        data, marks = read_yaml(read_file(file), str(file))
    except DefinitionError as exc:
        raise DirectiveFileError(what, list(exc.issues)) from None
    return str(file), data, marks


def _validate(model: type[BaseModel], data: object, marks: Any, filename: str, what: str) -> Any:
    if not isinstance(data, dict):
        raise DirectiveFileError(what, [DefinitionIssue(filename, 1, "", "expected a mapping")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DirectiveFileError(what, schema_issues(exc, marks, filename, data)) from None


def load_units(path: str | Path) -> list[UnitModel]:
    """Read a units file (``units: [{code, name_vi, name_en, kind, parent}]``)."""
    filename, data, marks = _read(path, "units file")
    doc: UnitsModel = _validate(UnitsModel, data, marks, filename, "units file")
    seen: dict[str, int] = {}
    issues = []
    for index, unit in enumerate(doc.units):
        if unit.code in seen:
            issues.append(
                DefinitionIssue(
                    filename,
                    marks.line_of(("units", index, "code")),
                    f"units[{index}].code",
                    f"duplicate unit code {unit.code!r} (first in units[{seen[unit.code]}])",
                )
            )
        seen.setdefault(unit.code, index)
    if issues:
        raise DirectiveFileError("units file", issues)
    return list(doc.units)


def load_directive(path: str | Path, *, calendar: WorkCalendar | None = None) -> DirectiveDoc:
    """Read a directive file; deadlines are turned into instants in the file's time zone
    (working days on ``calendar``: Vietnam's public holidays alone by default)."""
    filename, data, marks = _read(path, "directive file")
    doc: DirectiveModel = _validate(DirectiveModel, data, marks, filename, "directive file")
    issues: list[DefinitionIssue] = []
    items: list[Item] = []
    keys: set[str] = set()
    for index, item in enumerate(doc.items):
        where: tuple[str | int, ...] = ("items", index)
        if item.key in keys:
            issues.append(_issue(filename, marks, (*where, "key"), f"duplicate item {item.key!r}"))
        keys.add(item.key)
        deadline = None
        if item.deadline is not None:
            try:
                deadline = parse_deadline(
                    item.deadline,
                    doc.timezone,
                    signed_on=date.fromisoformat(doc.date),
                    calendar=calendar,
                )
            except ValueError as exc:
                issues.append(_issue(filename, marks, (*where, "deadline"), str(exc)))
        if item.addressees is None and item.lead is None and not item.on_demand:
            issues.append(
                _issue(filename, marks, where, "an item needs addressees, a lead, or on_demand")
            )
        addressees = item.addressees
        items.append(
            Item(
                key=item.key,
                title=item.title,
                text=item.text,
                workflow=item.workflow,
                lead=item.lead,
                coordinating=tuple(item.coordinating),
                addressees=tuple(addressees) if isinstance(addressees, list) else None,
                addressee_kind=addressees.kind if isinstance(addressees, KindSelector) else None,
                deadline_text=item.deadline,
                deadline=deadline,
                on_demand=item.on_demand,
                line=marks.line_of(where),
            )
        )
    if issues:
        raise DirectiveFileError("directive file", issues)
    return DirectiveDoc(
        number=doc.number,
        issuing_body=doc.issuing_body,
        place=doc.place,
        issued_on=doc.date,
        subject=doc.subject,
        timezone=doc.timezone,
        items=tuple(items),
        document=doc.model_dump(mode="json", exclude_none=True),
        source_file=filename,
    )


def _issue(filename: str, marks: Any, path: tuple[str | int, ...], message: str) -> DefinitionIssue:
    return DefinitionIssue(filename, marks.line_of(path), dotted(path), message)
