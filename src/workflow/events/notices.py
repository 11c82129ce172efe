"""Who must act next: one sentence per event, from a mapping of destination states to templates.

The embedding application (or the demo) supplies the wording; this module only picks the template
and fills it in::

    notices = NextActorNotices({
        "submitted": "Cấp ủy $unit: kế hoạch chờ thẩm định",
        "awaiting_archive": "Văn phòng Đảng ủy Khối: tài liệu chờ lưu trữ từ $unit",
        "plan_drafting.request_revision.revising": "$unit: kế hoạch bị trả lại, cần sửa",
    })
    bus.on("*", notices.handler(print), name="notify")

A key is a destination state name, or a topic pattern (``workflow.trigger.state``, see
:mod:`workflow.events.bus`) for finer choice; the first key that matches wins, in the mapping's
order. Templates use ``$name`` placeholders (:class:`string.Template`, no attribute access):

``$unit`` the unit's Vietnamese name (else its code, else "đơn vị chưa xác định"),
``$unit_code``, ``$workflow``, ``$trigger``, ``$from_state``, ``$to_state``, ``$instance``,
``$seq``, ``$actor``, ``$directive`` (the directive's number, else its id, else empty) and
``$event`` (the event id). An unknown placeholder is refused when the notices are built.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping

from workflow.errors import InvalidInput
from workflow.events.bus import Event, Handler, Pattern

UNKNOWN_UNIT = "đơn vị chưa xác định"
PLACEHOLDERS = frozenset(
    {
        "unit",
        "unit_code",
        "workflow",
        "trigger",
        "from_state",
        "to_state",
        "instance",
        "seq",
        "actor",
        "directive",
        "event",
    }
)


def _values(event: Event) -> dict[str, str]:
    directive = event.directive_number or (
        "" if event.directive_id is None else str(event.directive_id)
    )
    return {
        "unit": event.unit_name or event.unit or UNKNOWN_UNIT,
        "unit_code": event.unit or "",
        "workflow": event.workflow,
        "trigger": event.trigger,
        "from_state": event.from_state or "",
        "to_state": event.to_state,
        "instance": str(event.instance_id),
        "seq": str(event.seq),
        "actor": event.actor,
        "directive": directive,
        "event": str(event.id),
    }


class NextActorNotices:
    """Turns events into "who must act next" sentences (see the module docstring)."""

    def __init__(self, templates: Mapping[str, str]) -> None:
        self._rules: list[tuple[Pattern, string.Template]] = []
        for key, text in templates.items():
            pattern = Pattern.parse(key if "." in key or key == "*" else f"*.*.{key}")
            template = string.Template(text)
            unknown = set(template.get_identifiers()) - PLACEHOLDERS
            if not template.is_valid() or unknown:
                raise InvalidInput(
                    f"notice template for {key!r} uses unknown placeholders "
                    f"{', '.join(sorted(unknown)) or '(malformed $)'}; "
                    f"known: {', '.join(sorted(PLACEHOLDERS))}"
                )
            self._rules.append((pattern, template))

    def message(self, event: Event) -> str | None:
        """The sentence for ``event``, or None when no template matches it."""
        for pattern, template in self._rules:
            if pattern.matches(event.topic):
                return template.substitute(_values(event))
        return None

    def handler(self, emit: Callable[[str], None]) -> Handler:
        """A bus handler that hands each matching event's sentence to ``emit`` (print, a queue)."""

        def notify(event: Event) -> None:
            text = self.message(event)
            if text is not None:
                emit(text)

        return notify


def who_acts_next(event: Event, templates: Mapping[str, str]) -> str | None:
    """One-shot form of :meth:`NextActorNotices.message` (build the notices once when you can)."""
    return NextActorNotices(templates).message(event)
