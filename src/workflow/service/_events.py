"""Server-sent events: committed starts and transitions, read from the outbox (so never before
their commit), each sent only to a caller who may see its instance."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from workflow import Engine
from workflow.accounts import Principal, Sight
from workflow.events import Event, committed_events
from workflow.i18n import _
from workflow.service._app import Caller, JsonRoute, context_of
from workflow.service._errors import BadRequest

LOOK_BACK = 256
"""Ids behind the last one sent that are read again: a transaction that took an earlier id may
commit after a later one (the stream skips what it sent already)."""
HEARTBEAT_POLLS = 30
"""A comment line after this many empty polls keeps proxies from closing an idle stream."""


class EventStream:
    """Polls the outbox for committed events and formats them as ``text/event-stream``."""

    def __init__(self, engine: Engine, poll_seconds: float) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds

    async def stream(
        self,
        principal: Principal,
        last_event_id: int,
        disconnected: Callable[[], object] | None = None,
    ) -> AsyncIterator[str]:
        """SSE chunks (``id``, ``event: transition``, ``data``: the event's JSON) for the events
        after ``last_event_id`` that ``principal`` may see, until the client leaves."""
        cursor, sent, idle = last_event_id, set[int](), 0
        yield "retry: 2000\n\n"
        while True:
            after = max(0, cursor - LOOK_BACK)
            events = await anyio.to_thread.run_sync(self._read, after)
            fresh = [e for e in events if e.id not in sent and e.id > last_event_id]
            shown = (
                await anyio.to_thread.run_sync(self._visible, principal, fresh) if fresh else set()
            )
            for event in fresh:
                sent.add(event.id)
                cursor = max(cursor, event.id)
                if event.id in shown:
                    yield _format(event)
            sent = {i for i in sent if i > cursor - LOOK_BACK}
            if not fresh:
                idle += 1
                if idle >= HEARTBEAT_POLLS:
                    idle = 0
                    yield ": keep-alive\n\n"
                if disconnected is not None and await disconnected():  # type: ignore[misc]
                    return
                await anyio.sleep(self.poll_seconds)

    def _visible(self, principal: Principal, events: list[Event]) -> set[int]:
        """The ids of the events whose instance the caller may see (the library's rule, read
        afresh each poll: the directives overseen, what it may act on now)."""

        def visible() -> set[int]:
            sight = Sight(self.engine, principal.actor)
            return {
                e.id
                for e in events
                if sight.placed(e.instance_id, e.unit, e.coordinating_units, e.directive_id)
            }

        return self.engine.retry_if_lost(visible)  # reads only (the pool does not ping)

    def _read(self, after: int) -> list[Event]:
        read = partial(committed_events, self.engine, after_id=after, limit=1000)
        return self.engine.retry_if_lost(read)  # reads only (the pool does not ping)


def _format(event: Event) -> str:
    body = event.to_json()
    del body["attempt"]  # delivery bookkeeping, not the event
    return f"id: {event.id}\nevent: transition\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"


router = APIRouter(prefix="/api/v1", route_class=JsonRoute)


@router.get(
    "/events",
    summary="Committed transitions the caller may see, as server-sent events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    request: Request,
    principal: Caller,
    last_event_id: Annotated[str | None, Header(description="Resume after this id.")] = None,
) -> StreamingResponse:
    after = 0
    if last_event_id is not None:
        if not last_event_id.isdigit() or len(last_event_id) > 18:
            raise BadRequest(_("Last-Event-ID must be an event id"))
        after = int(last_event_id)
    else:
        # a new stream starts from now: only what commits from here on
        latest = await anyio.to_thread.run_sync(_latest_id, context_of(request).engine)
        after = latest
    stream = context_of(request).events.stream(principal, after, request.is_disconnected)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _latest_id(engine: Engine) -> int:
    from workflow.events import list_events  # noqa: PLC0415 - a read of one row

    newest = list_events(engine, limit=1)
    return newest[0].id if newest else 0
