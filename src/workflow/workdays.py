"""Working days (ngày làm việc) on Vietnam's calendar, counted in Asia/Ho_Chi_Minh.

A day is a working day when it is a Monday to Friday that is not a public holiday, unless the
administrators declared otherwise. Public holidays come from the maintained ``holidays`` package
(``holidays.country_holidays("VN")``): New Year, Tết Nguyên Đán and the Hùng Kings' day on the
lunar calendar (computed by the package's own lunisolar tables), 30/4, 1/5, 2/9, and the days off
and weekend working days the government swapped, as far as the package's release knows them.
The administrators add, per year, make-up working days (ngày làm bù: a weekend or a holiday
worked) and extra days off (ngày nghỉ thêm), through the administrators' log
(:mod:`workflow.admin.calendar`); :class:`WorkCalendar` holds those declarations.

Counting follows the Civil Code's rule for spans of days: the day a span starts from is not
counted. :meth:`WorkCalendar.add` moves a date by whole working days; :func:`shift` moves an
instant, keeping its wall-clock time in Asia/Ho_Chi_Minh. Dates outside the years the package
covers are refused (:class:`OutsideCalendar`): the engine never guesses a holiday.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from workflow.errors import InvalidInput, MissingExtra
from workflow.i18n import _, language

ZONE = "Asia/Ho_Chi_Minh"
"""Vietnam's working days are counted on its wall clock (UTC+7, no daylight saving)."""

COUNTRY = "VN"
MAX_WORKING_DAYS = 1000
"""The longest span of working days a timer or a directive may name (about four years)."""

WORKING, OFF = "working", "off"
DECLARATIONS = "calendar"
"""The administrators' log action that declares make-up working days and extra days off."""


class OutsideCalendar(InvalidInput):
    """A working-day count reaches a year the holidays package does not cover."""

    def __init__(self, day: date) -> None:
        self.day = day
        first, last = covered_years()
        super().__init__(
            _(
                "working days can be counted from {first} to {last} (the years the holidays "
                "package covers for Vietnam, lunar holidays included); {day} is outside",
                first=first,
                last=last,
                day=day.isoformat(),
            )
        )


def _package() -> Any:
    try:
        return importlib.import_module("holidays")
    except ImportError:
        raise MissingExtra("holidays", "office") from None


def available() -> bool:
    """Whether the holidays package is installed (the ``office`` extra)."""
    try:
        _package()
    except MissingExtra:
        return False
    return True


@lru_cache(maxsize=1)
def covered_years() -> tuple[int, int]:
    """The first and last year the holidays package knows Vietnam's holidays for."""
    country = _package().country_holidays(COUNTRY).__class__
    return int(country.start_year), int(country.end_year)


def public_holidays(year: int) -> Mapping[date, str]:
    """Vietnam's public holidays of ``year``, named in the current language."""
    return _holidays(year, language())


@lru_cache(maxsize=256)
def _holidays(year: int, lang: str) -> Mapping[date, str]:
    first, last = covered_years()
    if not first <= year <= last:
        raise OutsideCalendar(date(year, 1, 1))
    names = "vi" if lang == "vi" else "en_US"
    table = _package().country_holidays(COUNTRY, years=[year], language=names)
    return dict(sorted(table.items()))


@lru_cache(maxsize=256)
def swapped_working_days(year: int) -> frozenset[date]:
    """Weekend days the government made working days (as the holidays package records them)."""
    _holidays(year, "en")  # refuses a year outside the package's
    table = _package().country_holidays(COUNTRY, years=[year])
    return frozenset(d for d in table.weekend_workdays if d.year == year)


def is_public_working_day(day: date) -> bool:
    """A working day by the package alone: Monday to Friday and not a holiday, or a swapped
    weekend working day."""
    if day in _holidays(day.year, "en"):
        return False
    return day.weekday() < 5 or day in swapped_working_days(day.year)


@dataclass(frozen=True)
class WorkCalendar:
    """Vietnam's working days with the administrators' declarations: ``working`` (make-up days
    worked) and ``off`` (extra days off). The empty calendar is the package's alone."""

    working: frozenset[date] = frozenset()
    off: frozenset[date] = frozenset()

    @classmethod
    def from_declarations(cls, declarations: Iterable[Mapping[str, Any]]) -> WorkCalendar:
        """Fold the administrators' log's ``calendar`` events, oldest first: each replaces the
        declarations of the years it names (``{"years": [...], "working": [...], "off": [...]}``,
        dates in ISO form)."""
        by_year: dict[int, tuple[set[date], set[date]]] = {}
        for event in declarations:
            for year in event.get("years", ()):
                by_year[int(year)] = (set(), set())
            for kind, index in ((WORKING, 0), (OFF, 1)):
                for text in event.get(kind, ()):
                    day = date.fromisoformat(str(text))
                    by_year.setdefault(day.year, (set(), set()))[index].add(day)
        working = frozenset(d for days in by_year.values() for d in days[0])
        off = frozenset(d for days in by_year.values() for d in days[1])
        return cls(working, off)

    def is_working_day(self, day: date) -> bool:
        if day in self.working:
            return True
        if day in self.off:
            return False
        return is_public_working_day(day)

    def add(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (before it when negative); ``day`` itself
        is not counted. ``count`` 0 is ``day``."""
        if abs(count) > MAX_WORKING_DAYS:
            raise InvalidInput(
                _(
                    "{count} working days is more than the limit of {limit:,}",
                    count=count,
                    limit=MAX_WORKING_DAYS,
                )
            )
        step = timedelta(days=1 if count > 0 else -1)
        left = abs(count)
        while left:
            try:
                day += step
            except OverflowError:
                raise OutsideCalendar(day) from None
            if self.is_working_day(day):
                left -= 1
        return day

    def shift(self, moment: datetime, count: int) -> datetime:
        """``moment`` moved by ``count`` working days on Vietnam's wall clock (the same local
        time of day, on the working day :meth:`add` finds), as a UTC instant."""
        zone = ZoneInfo(ZONE)
        local = moment.astimezone(zone)
        day = self.add(local.date(), count)
        return datetime.combine(day, local.timetz()).astimezone(UTC)

    def end_of(self, day: date, count: int) -> datetime:
        """The instant "within ``count`` working days from ``day``" ends: midnight in
        Asia/Ho_Chi_Minh after the ``count``-th working day after ``day``, in UTC."""
        last = self.add(day, count)
        midnight = datetime.combine(last + timedelta(days=1), datetime.min.time(), ZoneInfo(ZONE))
        return midnight.astimezone(UTC)

    def explain(self, day: date) -> str:
        """Why ``day`` is or is not a working day, in the current language."""
        if day in self.working:
            return _("make-up working day (declared)")
        if day in self.off:
            return _("extra day off (declared)")
        name = public_holidays(day.year).get(day)
        if name:
            return name
        if day in swapped_working_days(day.year):
            return _("make-up working day")
        return _("working day") if day.weekday() < 5 else _("weekend")
