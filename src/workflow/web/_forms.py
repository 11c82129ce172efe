"""An action's form posted back: its fields turned into the payload the engine takes.

Each declared field type has one input (see ``templates/_action.html``) and one reading here:
text as given, numbers parsed, a yes/no choice, dates as ``YYYY-MM-DD``, date-times read in the
console's time zone and sent with their offset, lists one item per line, objects as JSON. An
empty input is left out of the payload, so the engine's ``required`` guard names it. Every
problem of the form is reported at once, as :class:`~workflow.InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from workflow import InvalidInput, WorkflowError, parse_json
from workflow.i18n import N_

from ._access import Action


def payload_from_form(
    action: Action, form: Mapping[str, str], zone: ZoneInfo, _: Callable[[str], str]
) -> dict[str, Any]:
    """The payload of ``action`` from the posted ``form`` (field name -> text)."""
    payload: dict[str, Any] = {}
    problems: list[str] = []
    for field in action.fields:
        raw = (form.get(f"field.{field.name}") or "").strip()
        if raw == "":
            continue
        try:
            payload[field.name] = _read(field.type, raw, zone)
        except (ValueError, WorkflowError):
            problems.append(f"{field.label}: {_(_HINTS.get(field.type, INVALID))}")
    if problems:
        raise InvalidInput("; ".join(problems))
    return payload


INVALID = N_("invalid value")
_HINTS = {
    "integer": N_("a whole number is expected"),
    "number": N_("a number is expected"),
    "boolean": N_("choose yes or no"),
    "date": N_("a date is expected (YYYY-MM-DD)"),
    "datetime": N_("a date and time is expected"),
    "object": N_("a JSON object is expected"),
}


def _read(kind: str, raw: str, zone: ZoneInfo) -> Any:
    if kind == "integer":
        return int(raw)
    if kind == "number":
        number = float(raw)
        return int(number) if number.is_integer() and "." not in raw else number
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError(raw)
        return raw == "true"
    if kind == "date":
        return datetime.strptime(raw, "%Y-%m-%d").date().isoformat()
    if kind == "datetime":
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.isoformat()
    if kind == "list":
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if kind == "object":
        value = parse_json(raw, "field")
        if not isinstance(value, dict):
            raise ValueError(raw)
        return value
    return raw
