"""Events out: the :class:`Event` a handler receives, topic patterns and the :class:`EventBus`.

Every committed start and transition has an outbox row whose topic is
``<workflow>.<trigger>.<destination state>`` (the trigger of a start is ``start``). Handlers are
registered on an :class:`EventBus` by name with a pattern over that topic; the dispatcher
(:mod:`workflow.events.dispatch`) calls them after the transaction committed, at least once, in
order per instance. See ``docs/events.md``.

Pattern language (one pattern, three dot-separated parts ``workflow.trigger.state``):

* each part is a name or a glob where ``*`` matches any run of characters within the part
  (``plan_*``), and a part that is ``*`` alone matches anything;
* ``plan_drafting.*.returned``: any trigger of ``plan_drafting`` that lands in ``returned``;
* ``plan_drafting.return.*``: the ``return`` trigger whatever the destination;
* ``*.*.archived``: anything archived; ``*`` alone (or ``*.*.*``) matches every event;
* two parts ``workflow.state`` are short for ``workflow.*.state``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow.errors import InvalidInput

_PART = re.compile(r"^[a-z0-9_*]{1,64}$")
# scheme://[user[:password]@]host/path[?query][#fragment], inside any text
_URL_SECRETS = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?:[^/@\s]*@)?(?P<rest>[^\s?#'\"<>]*)"
    r"(?P<query>\?[^\s#'\"<>]*)?(?:#[^\s'\"<>]*)?"
)


def without_credentials(text: str) -> str:
    """``text`` with every URL in it stripped of its user, password, query and fragment
    (``https://u:p@host/hook?token=t`` → ``https://host/hook?…``): a delivery error is stored
    on the outbox row and shown by ``events list``, and URLs often carry credentials."""

    def shown(found: re.Match[str]) -> str:
        return found["scheme"] + found["rest"] + ("?…" if found["query"] else "")

    return _URL_SECRETS.sub(shown, text)


_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass(frozen=True)
class Event:
    """One committed start or transition, as handlers receive it.

    ``id`` is the outbox id: unique per event and stable across retries, so a handler that may
    see an event twice (delivery is at least once) deduplicates on it.
    """

    id: int
    audit_id: int
    instance_id: int
    seq: int
    workflow: str
    trigger: str
    from_state: str | None
    to_state: str
    actor: str
    actor_unit: str | None
    occurred_at: datetime
    directive_id: int | None
    directive_number: str | None
    unit: str | None
    unit_name: str | None
    attempt: int = 1
    coordinating_units: tuple[str, ...] = ()

    @property
    def topic(self) -> str:
        return f"{self.workflow}.{self.trigger}.{self.to_state}"

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON object (times as ISO-8601 UTC with ``Z``) for sinks."""
        return {
            "id": self.id,
            "topic": self.topic,
            "audit_id": self.audit_id,
            "instance_id": self.instance_id,
            "seq": self.seq,
            "workflow": self.workflow,
            "trigger": self.trigger,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "actor": self.actor,
            "actor_unit": self.actor_unit,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "directive_id": self.directive_id,
            "directive_number": self.directive_number,
            "unit": self.unit,
            "unit_name": self.unit_name,
            "attempt": self.attempt,
            "coordinating_units": list(self.coordinating_units),
        }


def event_from_row(row: Any) -> Event:
    """Build an :class:`Event` from a row of ``store.outbox.event_rows``."""
    r: Mapping[str, Any] = row._mapping
    return Event(
        id=int(r["id"]),
        audit_id=int(r["audit_id"]),
        instance_id=int(r["instance_id"]),
        seq=int(r["seq"]),
        workflow=r["workflow"],
        trigger=r["trigger"] or "start",
        from_state=r["from_state"],
        to_state=r["to_state"],
        actor=r["actor"],
        actor_unit=r["actor_unit"],
        occurred_at=r["occurred_at"],
        directive_id=r["directive_id"],
        directive_number=r["directive_number"],
        unit=r["unit"],
        unit_name=r["unit_name"],
        attempt=int(r["attempts"]),
        coordinating_units=tuple(r.get("coordinating_units") or ()),
    )


Handler = Callable[[Event], None]
"""A handler is called with one event; raising any exception means "not delivered, retry"."""


@dataclass(frozen=True)
class Pattern:
    """A parsed topic pattern (see the module docstring for the language)."""

    text: str
    parts: tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]

    @classmethod
    def parse(cls, text: str) -> Pattern:
        if not isinstance(text, str):
            raise InvalidInput(f"an event pattern is text, not {type(text).__name__}")
        raw = text.split(".")
        if raw == ["*"]:
            raw = ["*", "*", "*"]
        elif len(raw) == 2:
            raw = [raw[0], "*", raw[1]]
        if len(raw) != 3 or not all(_PART.match(p) for p in raw):
            raise InvalidInput(
                f"event pattern {text!r} is not workflow.trigger.state (or workflow.state, "
                "or *); each part is a lower-case name, a glob with *, or * alone"
            )
        compiled = tuple(
            re.compile("^" + ".*".join(map(re.escape, p.split("*"))) + "$") for p in raw
        )
        return cls(text, (compiled[0], compiled[1], compiled[2]))

    def matches(self, topic: str) -> bool:
        parts = topic.split(".")
        return len(parts) == 3 and all(p.match(t) for p, t in zip(self.parts, parts, strict=True))


@dataclass(frozen=True)
class Subscription:
    name: str
    patterns: tuple[Pattern, ...]
    handler: Handler

    def matches(self, topic: str) -> bool:
        return any(p.matches(topic) for p in self.patterns)


class EventBus:
    """Named handlers with topic patterns; hand it to :func:`workflow.dispatch_pending`.

    The bus holds no connection: the same bus may serve several engines (or processes that each
    build it the same way). Every dispatcher of one database must use the same set of handlers,
    because a row counts as delivered once the handlers of the dispatcher that took it succeeded.

    >>> bus = EventBus()
    >>> handler = bus.on("plan_drafting.*.returned", lambda event: None, name="tell-unit")
    >>> bus.names
    ['tell-unit']
    """

    def __init__(self) -> None:
        self._subscriptions: dict[str, Subscription] = {}

    def on(
        self, pattern: str | Sequence[str], handler: Handler, *, name: str | None = None
    ) -> Handler:
        """Register ``handler`` for topics matching ``pattern`` (or any of several).

        An event matching several patterns of one handler reaches it once. ``name`` (default:
        the handler's qualified name, numbered when another handler has it) identifies it in
        logs and in ``last_error``; a second registration under the same name replaces the
        first.
        """
        if not callable(handler):
            raise InvalidInput(f"the handler for {pattern!r} is not callable")
        label = name or self._default_name(handler)
        if not _NAME.match(label):
            raise InvalidInput(f"handler name {label!r} must be 1-100 letters, digits or _ . : -")
        texts = [pattern] if isinstance(pattern, str) else list(pattern)
        if not texts:
            raise InvalidInput(f"handler {label!r} needs at least one pattern")
        patterns = tuple(Pattern.parse(t) for t in texts)
        self._subscriptions[label] = Subscription(label, patterns, handler)
        return handler

    def _default_name(self, handler: Handler) -> str:
        base = re.sub(r"[^A-Za-z0-9_.:-]", "_", getattr(handler, "__qualname__", "handler"))[:90]
        label, n = base, 1
        # Two different lambdas must not replace each other just because they share a name.
        while label in self._subscriptions and self._subscriptions[label].handler is not handler:
            n += 1
            label = f"{base}-{n}"
        return label

    def subscribe(
        self, pattern: str | Sequence[str], *, name: str | None = None
    ) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`on`."""

        def register(handler: Handler) -> Handler:
            return self.on(pattern, handler, name=name)

        return register

    def off(self, name: str) -> None:
        """Remove the handler registered as ``name`` (no error when there is none)."""
        self._subscriptions.pop(name, None)

    @property
    def names(self) -> list[str]:
        return sorted(self._subscriptions)

    def matching(self, topic: str) -> list[Subscription]:
        """The subscriptions whose pattern matches ``topic``, in registration order."""
        return [s for s in self._subscriptions.values() if s.matches(topic)]
