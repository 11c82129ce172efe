"""Checks that a value fits a declared field type (values are JSON; dates are ISO-8601 text)."""

from __future__ import annotations

from datetime import date, datetime

from workflow.clock import EARLIEST, LATEST, in_range
from workflow.definition.model import FieldType


def type_error(field_type: FieldType, value: object) -> str | None:
    """None if ``value`` fits ``field_type``, else what is wrong with it."""
    if value is None:
        return None
    if field_type in ("string", "text"):
        return None if isinstance(value, str) else "must be text"
    if field_type == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be a whole number"
    if field_type == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if field_type == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if field_type == "list":
        return None if isinstance(value, list) else "must be a list"
    if field_type == "object":
        return None if isinstance(value, dict) else "must be an object"
    if field_type == "date":
        try:
            date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return "must be a date (YYYY-MM-DD)"
        return None if isinstance(value, str) else "must be a date (YYYY-MM-DD)"
    if not isinstance(value, str):
        return "must be an ISO-8601 date-time with an offset"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "must be an ISO-8601 date-time with an offset"
    if moment.tzinfo is None:
        return "must carry a time zone offset (naive)"
    if in_range(moment) is None:
        return f"is out of range (instants from the year {EARLIEST.year} to {LATEST.year})"
    return None
