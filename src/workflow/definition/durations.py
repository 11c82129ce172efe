"""ISO-8601 durations of fixed length (weeks, days, hours, minutes, seconds), optionally signed."""

from __future__ import annotations

import re
from datetime import timedelta

from workflow.limits import MAX_SPAN_DAYS

_DURATION = re.compile(
    r"^(?P<sign>[-+])?P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """Parse ``P3D``, ``-P1W``, ``PT12H30M``; years and months are refused (their length varies)."""
    match = _DURATION.match(text.strip().upper())
    if not match or text.strip().upper() in {"P", "-P", "+P", "PT"} or text.strip().endswith("T"):
        raise ValueError(
            f"{text!r} is not an ISO-8601 duration of weeks, days, hours, minutes or seconds "
            "(for example P3D, -P1D, PT12H)"
        )
    parts = match.groupdict()
    delta = _bounded(
        text,
        weeks=parts["weeks"],
        days=parts["days"],
        hours=parts["hours"],
        minutes=parts["minutes"],
        seconds=parts["seconds"],
    )
    return -delta if parts["sign"] == "-" else delta


class TooLong(ValueError):
    """A duration or span past the limit (said as such, not as a misspelling)."""


def _bounded(text: str, **amounts: str | None) -> timedelta:
    """The span the amounts add up to, refused past :data:`~workflow.limits.MAX_SPAN_DAYS`
    (before Python's own limits turn it into an OverflowError, or 5,000 digits into one)."""
    too_long = TooLong(f"{text!r} is longer than the limit of {MAX_SPAN_DAYS:,} days")
    if any(len(value) > 20 for value in amounts.values() if value):
        raise too_long
    try:
        delta = timedelta(**{unit: float(value) for unit, value in amounts.items() if value})
    except OverflowError:
        raise too_long from None
    if delta > timedelta(days=MAX_SPAN_DAYS):
        raise too_long
    return delta


def calendar_days(text: str) -> int:
    """The signed days and weeks written in ``text`` (``-P1W2D`` → -9; ``PT48H`` → 0)."""
    match = _DURATION.match(text.strip().upper())
    if not match:
        raise ValueError(f"{text!r} is not an ISO-8601 duration")
    days = 7 * int(match["weeks"] or 0) + int(match["days"] or 0)
    return -days if match["sign"] == "-" else days


def format_duration(delta: timedelta) -> str:
    """The inverse of :func:`parse_duration`, for messages and diffs."""
    sign = "-" if delta < timedelta(0) else ""
    total = abs(delta)
    days, rest = total.days, total.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = f"{sign}P{days}D" if days else f"{sign}P"
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if v)
    if time:
        out += "T" + time
    return out if out not in {"P", "-P"} else "PT0S"


_SPAN = re.compile(r"^(?P<count>\d+)\s*(?P<unit>[smhdw])$")
_SPAN_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_span(text: str) -> timedelta:
    """A positive span for options: ``3d``, ``12h``, ``30m``, ``45s``, ``2w`` or ISO ``P3D``."""
    match = _SPAN.match(text.strip().lower())
    if match:
        delta = _bounded(text, **{_SPAN_UNITS[match["unit"]]: match["count"]})
    else:
        try:
            delta = parse_duration(text)
        except TooLong:
            raise
        except ValueError:
            raise ValueError(
                f"{text!r} is not a span: write 3d, 12h, 30m, 45s, 2w or an ISO duration (P3D)"
            ) from None
    if delta <= timedelta(0):
        raise ValueError(f"{text!r} must be longer than zero")
    return delta
