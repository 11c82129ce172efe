"""The working-day calendar's declarations: make-up working days and extra days off, per year.

Vietnam's public holidays, Tết and the other lunar holidays included, come from the ``holidays``
package (:mod:`workflow.workdays`). What the package cannot know, the administrators declare in
a calendar file, deployed like a definition::

    # calendar.yaml
    years:
      2025:
        working: ["2025-02-08"]     # ngày làm bù: a Saturday, Sunday or holiday worked
        off: ["03/02/2025"]         # ngày nghỉ thêm: a working day given off

A deployment is an event of the administrators' log (``calendar``, with the years and their
days): hash-chained, append-only, verified with the rest of the log. It replaces the
declarations of the years the file names and leaves other years alone; deploying the same days
again changes nothing. Timers and deadlines computed from then on use it; those already
scheduled keep their instant (as a definition's new version leaves running instances alone).

The file is refused, every problem with its line, when a date is not a date, lies outside its
year or the years the holidays package covers, is declared twice or both ways, or declares
nothing (a make-up day that is already a working day; a day off that is already one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflow.definition.loader import schema_issues
from workflow.definition.yamlsafe import dotted, read_file, read_yaml
from workflow.engine import Engine
from workflow.errors import DefinitionError, DefinitionIssue, InvalidInput
from workflow.i18n import _, ngettext
from workflow.logs import get_logger
from workflow.store import chain_writer
from workflow.store import repository as repo
from workflow.workdays import (
    DECLARATIONS,
    OFF,
    WORKING,
    WorkCalendar,
    covered_years,
    is_public_working_day,
    public_holidays,
    swapped_working_days,
)

log = get_logger("workflow.admin")

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class CalendarFileError(InvalidInput):
    """A calendar file is malformed; ``issues`` lists every problem with its line."""

    def __init__(self, issues: list[DefinitionIssue]) -> None:
        self.issues = tuple(issues)
        head = ngettext(
            "invalid calendar file ({count} problem)",
            "invalid calendar file ({count} problems)",
            len(self.issues),
        )
        super().__init__(head + "\n" + "\n".join(f"  {issue}" for issue in self.issues))


class _Year(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    working: list[str] = []
    off: list[str] = []


class _CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    years: Annotated[dict[int, _Year], Field(min_length=1)]


@dataclass(frozen=True)
class CalendarDeploy:
    """What a deployment declared; ``changed`` is False when those years already said so."""

    years: tuple[int, ...]
    working: tuple[date, ...]
    off: tuple[date, ...]
    changed: bool

    @property
    def message(self) -> str:
        years = ", ".join(str(y) for y in self.years)
        if not self.changed:
            return _("calendar {years}: already declared; nothing changed", years=years)
        return _(
            "calendar {years}: {working} make-up working days, {off} extra days off declared",
            years=years,
            working=len(self.working),
            off=len(self.off),
        )


@dataclass(frozen=True)
class CalendarDay:
    """A day that is not an ordinary weekday or weekend day, and why (in Vietnamese)."""

    day: date
    working: bool
    why: str


def parse_day(text: str) -> date:
    """``2025-02-08`` or ``08/02/2025`` (dd/mm/yyyy, as Vietnamese write dates)."""
    match = _DMY.match(text.strip())
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            _("{text!r} is not a date (write 2025-02-08 or 08/02/2025)", text=text)
        ) from None


def load_calendar(path: str | Path) -> dict[int, tuple[tuple[date, ...], tuple[date, ...]]]:
    """Read and check a calendar file: per year, its make-up working days and days off."""
    filename = str(path)
    try:
        data, marks = read_yaml(read_file(Path(path)), filename)
    except DefinitionError as exc:
        raise CalendarFileError(list(exc.issues)) from None
    if not isinstance(data, dict):
        raise CalendarFileError([DefinitionIssue(filename, 1, "", _("expected a mapping"))])
    try:
        doc = _CalendarFile.model_validate(data)
    except ValidationError as exc:
        raise CalendarFileError(schema_issues(exc, marks, filename, data)) from None
    issues: list[DefinitionIssue] = []
    first, last = covered_years()
    declared: dict[int, tuple[tuple[date, ...], tuple[date, ...]]] = {}
    for year, days in sorted(doc.years.items()):
        if not first <= year <= last:
            where: tuple[str | int, ...] = ("years", str(year))
            message = _(
                "year {year} is outside {first}-{last}, the years the holidays package knows",
                year=year,
                first=first,
                last=last,
            )
            issues.append(DefinitionIssue(filename, marks.line_of(where), dotted(where), message))
            continue
        seen: dict[date, str] = {}
        lists: dict[str, list[date]] = {WORKING: [], OFF: []}
        for kind, texts in ((WORKING, days.working), (OFF, days.off)):
            for index, text in enumerate(texts):
                path_of: tuple[str | int, ...] = ("years", str(year), kind, index)
                problem = _day_problem(text, year, kind, seen)
                if isinstance(problem, str):
                    line = marks.line_of(path_of)
                    issues.append(DefinitionIssue(filename, line, dotted(path_of), problem))
                else:
                    seen[problem] = kind
                    lists[kind].append(problem)
        declared[year] = (tuple(sorted(lists[WORKING])), tuple(sorted(lists[OFF])))
    if issues:
        raise CalendarFileError(issues)
    return declared


def _day_problem(text: str, year: int, kind: str, seen: dict[date, str]) -> date | str:
    """The day ``text`` declares, or what is wrong with it."""
    try:
        day = parse_day(text)
    except ValueError as exc:
        return str(exc)
    shown = day.isoformat()
    if day.year != year:
        return _("{day} is not in {year}", day=shown, year=year)
    if day in seen:
        if seen[day] == kind:
            return _("{day} is declared twice", day=shown)
        return _("{day} is declared both as a working day and as a day off", day=shown)
    ordinary = is_public_working_day(day)
    if kind == WORKING and ordinary:
        return _("{day} is already a working day: a make-up day declares nothing", day=shown)
    if kind == OFF and not ordinary:
        return _("{day} is already a day off: an extra day off declares nothing", day=shown)
    return day


def deploy_calendar(engine: Engine, path: str | Path, *, by: str = "admin") -> CalendarDeploy:
    """Declare the make-up working days and extra days off of the years a calendar file names,
    as one event of the administrators' log; nothing is written when they are already declared."""
    declared = load_calendar(path)
    years = tuple(sorted(declared))
    working = tuple(d for y in years for d in declared[y][0])
    off = tuple(d for y in years for d in declared[y][1])
    now = engine.now()
    with engine.transaction() as conn:
        current = repo.work_calendar(conn)
        if _same(current, declared):
            return CalendarDeploy(years, working, off, changed=False)
        detail: dict[str, Any] = {
            "years": list(years),
            WORKING: [d.isoformat() for d in working],
            OFF: [d.isoformat() for d in off],
            "file": str(path),
        }
        subject = "VN " + ", ".join(str(y) for y in years)
        chain_writer.append_admin_event(conn, DECLARATIONS, subject, by, detail, now)
    log.info("calendar.declared", years=list(years), working=len(working), off=len(off))
    return CalendarDeploy(years, working, off, changed=True)


def _same(
    current: WorkCalendar, declared: dict[int, tuple[tuple[date, ...], tuple[date, ...]]]
) -> bool:
    return all(
        {d for d in current.working if d.year == year} == set(working)
        and {d for d in current.off if d.year == year} == set(off)
        for year, (working, off) in declared.items()
    )


def work_calendar(engine: Engine) -> WorkCalendar:
    """Vietnam's working days with every declaration deployed so far."""
    with engine.read_transaction() as conn:
        return repo.work_calendar(conn)


def calendar_year(engine: Engine, year: int) -> list[CalendarDay]:
    """The days of ``year`` that are not ordinary: public holidays, swapped and declared days."""
    calendar = work_calendar(engine)
    special = (
        set(public_holidays(year))
        | set(swapped_working_days(year))
        | {d for d in calendar.working | calendar.off if d.year == year}
    )
    return [
        CalendarDay(d, calendar.is_working_day(d), calendar.explain(d)) for d in sorted(special)
    ]


def add_working_days(engine: Engine, start: date, count: int) -> date:
    """The ``count``-th working day after ``start`` (before it when negative), ``start`` not
    counted, on the calendar with its declarations."""
    return work_calendar(engine).add(start, count)

