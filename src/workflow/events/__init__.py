"""Events out: the transactional outbox delivered to handlers after commit.

Every committed start and transition leaves an outbox row. :mod:`~workflow.events.bus` holds the
:class:`~workflow.events.bus.Event` a handler receives, topic patterns and the bus handlers
subscribe on; :mod:`~workflow.events.dispatch` delivers outbox rows at least once, in order per
instance, with retries; :mod:`~workflow.events.sinks` provides ready handlers (JSON Lines file,
signed webhook) configured from YAML; :mod:`~workflow.events.notices` turns events into
"who acts next" messages. See ``docs/events.md``.
"""
