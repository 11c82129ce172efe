"""Which timer rows a state's declarations create when an instance enters it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workflow.clock import parse_instant
from workflow.definition import model as m
from workflow.definition.zones import shift


def due_at(timer: m.TimerSpec, data: Mapping[str, Any], entered_at: datetime) -> datetime | None:
    """When ``timer`` is due, or None when its field is not set (an absolute timer with no date)."""
    if timer.after is not None:
        return shift(entered_at, timer.after, timer.zone, timer.calendar_days)
    assert timer.at_field is not None
    value = data.get(timer.at_field)
    if not value:
        return None
    moment = parse_instant(str(value), timer.at_field)
    return shift(moment, timer.offset, timer.zone, timer.calendar_days)


def timer_rows(
    state: m.StateSpec,
    instance_id: int,
    data: Mapping[str, Any],
    entered_at: datetime,
    entered_version: int,
) -> list[dict[str, Any]]:
    rows = []
    for timer in state.timers:
        due = due_at(timer, data, entered_at)
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


def instance_due_at(definition: m.Definition, data: Mapping[str, Any]) -> datetime | None:
    """The instance's deadline, from the definition's ``deadline_field``."""
    if definition.deadline_field is None:
        return None
    value = data.get(definition.deadline_field)
    return parse_instant(str(value), definition.deadline_field) if value else None
