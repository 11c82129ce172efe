"""Events out: the transactional outbox delivered to handlers after commit.

Every committed start and transition leaves an outbox row. :mod:`~workflow.events.bus` holds the
:class:`~workflow.events.bus.Event` a handler receives, topic patterns and the bus handlers
subscribe on; :mod:`~workflow.events.dispatch` delivers outbox rows at least once, in order per
instance, with retries; :mod:`~workflow.events.sinks` provides ready handlers (JSON Lines file,
signed webhook) configured from YAML; :mod:`~workflow.events.notices` turns events into
"who acts next" messages. See ``docs/events.md``.
"""

from __future__ import annotations

from workflow.events.bus import Event, EventBus
from workflow.events.dispatch import (
    DispatchRun,
    OutboxEntry,
    RetryPolicy,
    committed_events,
    dispatch_pending,
    get_event,
    list_events,
    publish,
    retry_event,
    run_dispatcher,
)
from workflow.events.notices import NextActorNotices, who_acts_next
from workflow.events.retention import prune_delivered
from workflow.events.sinks import (
    JsonLinesSink,
    WebhookSink,
    load_sinks,
    verify_signature,
)

__all__ = [
    "DispatchRun",
    "Event",
    "EventBus",
    "JsonLinesSink",
    "NextActorNotices",
    "OutboxEntry",
    "RetryPolicy",
    "WebhookSink",
    "committed_events",
    "dispatch_pending",
    "get_event",
    "list_events",
    "load_sinks",
    "prune_delivered",
    "publish",
    "retry_event",
    "run_dispatcher",
    "verify_signature",
    "who_acts_next",
]
