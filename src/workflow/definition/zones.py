"""IANA time zones: names checked against the tz database, durations added on the wall clock.

A timer that names a zone counts its days and weeks as calendar days in that zone, so "one day
before a 17:00 deadline" stays at 17:00 local time when a daylight-saving change falls in between
(the day is then 23 or 25 hours long). Hours, minutes and seconds are always elapsed time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflow.errors import InvalidInput


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Europe/Berlin``); an unknown name is refused with a hint."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"time zone {name!r} is not in the IANA database (for example Asia/Ho_Chi_Minh, "
            "Europe/Berlin, America/New_York)"
        ) from exc


def shift(
    moment: datetime,
    delta: timedelta,
    zone_name: str | None = None,
    calendar_days: int | None = None,
) -> datetime:
    """``moment + delta``; with a zone, ``calendar_days`` of it move the local date, not 24 hours.

    ``calendar_days`` (signed) is the part of ``delta`` written as days and weeks (``P1D``, not
    ``PT24H``); by default, every whole day of ``delta``. The rest is elapsed time. A local time
    that does not exist (the hour skipped in spring) or exists twice (the hour repeated in autumn)
    resolves as :mod:`zoneinfo` does with ``fold=0``: a skipped wall time lands after the gap, a
    repeated one on its first occurrence.
    """
    if zone_name is None:
        return moment + delta
    if calendar_days is None:
        whole = abs(delta).days
        calendar_days = -whole if delta < timedelta(0) else whole
    days = timedelta(days=calendar_days)
    tz = zone(zone_name)
    # Wall-clock arithmetic: drop the offset, move the date, then let the zone pick the offset.
    wall = moment.astimezone(tz).replace(tzinfo=None) + days
    return wall.replace(tzinfo=tz).astimezone(UTC) + (delta - days)
