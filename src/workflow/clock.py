"""Explicit time: a :class:`Clock` protocol, the system clock and a frozen clock for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from workflow.errors import InvalidInput
from workflow.i18n import _


class Clock(Protocol):
    """Anything that can tell the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to: tests and simulations never sleep."""

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "start")

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = require_aware(moment, "moment")

    def advance(self, delta: timedelta) -> datetime:
        self._now = self._now + delta
        return self._now


EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""The instants the engine takes (docs/guarantees.md): a century of spans and durations (the
most the limits allow) from either end stays inside the calendar Python can compute with."""


def in_range(moment: datetime) -> datetime | None:
    """An aware ``moment`` in UTC, or None when it is outside :data:`EARLIEST`..:data:`LATEST`
    (near year 1 or 9999 an offset alone takes it off the calendar)."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return None
    return utc if EARLIEST <= utc <= LATEST else None


def require_aware(moment: datetime, name: str = "datetime") -> datetime:
    """Return ``moment`` in UTC, refusing a naive datetime, or one out of range, clearly."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(
            _(
                "{name} {moment} has no time zone; give an aware datetime (for example "
                "2020-09-15T00:00:00+07:00)",
                name=name,
                moment=moment.isoformat(),
            )
        )
    utc = in_range(moment)
    if utc is None:
        raise InvalidInput(
            _(
                "{name} {moment} is out of range: instants are taken from the year {first} to "
                "{last}",
                name=name,
                moment=moment.isoformat(),
                first=EARLIEST.year,
                last=LATEST.year,
            )
        )
    return utc


def parse_instant(text: str, name: str = "time") -> datetime:
    """Parse an ISO-8601 instant with an offset (``Z`` allowed) into an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            _("{name} {text!r} is not an ISO-8601 date-time", name=name, text=text)
        ) from exc
    return require_aware(moment, name)
