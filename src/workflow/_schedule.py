"""Which timer rows a state's declarations create when an instance enters it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from workflow.clock import parse_instant
from workflow.definition import model as m
from workflow.definition.zones import shift
from workflow.store import Connection
from workflow.store import repository as repo
from workflow.workdays import WorkCalendar

CalendarSource = Callable[[], WorkCalendar]
"""The working-day calendar, read only when a timer counts working days."""


class _StoredCalendar:
    """The calendar of one connection's database, read on the first call only."""

    __slots__ = ("_calendar", "_conn")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._calendar: WorkCalendar | None = None

    def __call__(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = repo.work_calendar(self._conn)
        return self._calendar


def calendar_on(conn: Connection) -> CalendarSource:
    """The calendar of ``conn``'s database, read at most once (when a timer first needs it).
    A small class rather than ``functools.cache`` over a lambda: a fire asks for it every time
    and ``cache`` cost 3 µs to build."""
    return _StoredCalendar(conn)


def due_at(
    timer: m.TimerSpec, data: Mapping[str, Any], entered_at: datetime, calendar: CalendarSource
) -> datetime | None:
    """When ``timer`` is due, or None when its field is not set (an absolute timer with no date)."""
    if timer.at_field is None:
        if timer.business_days is not None:
            return calendar().shift(entered_at, timer.business_days)
        assert timer.after is not None
        return shift(entered_at, timer.after, timer.zone, timer.calendar_days)
    value = data.get(timer.at_field)
    if not value:
        return None
    moment = parse_instant(str(value), timer.at_field)
    if timer.business_days is not None:
        return calendar().shift(moment, timer.business_days)
    return shift(moment, timer.offset, timer.zone, timer.calendar_days)


def timer_rows(
    state: m.StateSpec,
    instance_id: int,
    data: Mapping[str, Any],
    entered_at: datetime,
    entered_version: int,
    calendar: CalendarSource,
) -> list[dict[str, Any]]:
    rows = []
    for timer in state.timers:
        due = due_at(timer, data, entered_at, calendar)
        if due is None:
            continue
        rows.append(
            {
                "instance_id": instance_id,
                "state": state.name,
                "trigger": timer.trigger,
                "due_at": due,
                "status": "pending",
                "entered_version": entered_version,
                "attempts": 0,
                "created_at": entered_at,
            }
        )
    return rows


def instance_due_at(
    definition: m.Definition,
    data: Mapping[str, Any],
    entered: tuple[m.StateSpec, datetime, CalendarSource] | None = None,
    kept: datetime | None = None,
) -> datetime | None:
    """The instance's deadline (what ``list --overdue`` reads): the earliest of its
    ``deadline_field``, the ``deadline: true`` timers of the state it ``entered`` (at that time,
    working days on that calendar), and the deadline it ``kept`` from a state it stays in."""
    found: list[datetime] = [] if kept is None else [kept]
    if definition.deadline_field is not None:
        value = data.get(definition.deadline_field)
        if value:
            found.append(parse_instant(str(value), definition.deadline_field))
    if entered is not None:
        state, at, calendar = entered
        for timer in state.timers:
            if timer.deadline and (due := due_at(timer, data, at, calendar)) is not None:
                found.append(due)
    return min(found) if found else None
