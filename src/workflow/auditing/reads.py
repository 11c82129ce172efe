"""Read-only views of the audit log for auditors: filtered streams, search, replay to an instant.

Everything here streams (``yield_per``) so a scan over millions of events runs in constant
memory, and nothing here writes. The state and data of an instance at any past instant are
replayed from its own chain: each audit row stores the instance data as it was after the event.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from workflow.clock import require_aware
from workflow.engine import Engine
from workflow.errors import InvalidInput
from workflow.hashchain.report import ChainProblem
from workflow.hashchain.verifier import headless_chain
from workflow.limits import check_row_id
from workflow.records import AuditEvent
from workflow.store import audit_log, chains
from workflow.store.mapping import to_event


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events to read; every filter given must match (``until`` is inclusive)."""

    instance_id: int | None = None
    directive_id: int | None = None
    workflow: str | None = None
    actor: str | None = None
    trigger: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("instance_id", "directive_id"):
            value = getattr(self, name)
            if value is not None:
                check_row_id(value, name)
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None:
                require_aware(moment, name)
        if self.since and self.until and self.since > self.until:
            raise InvalidInput("since is after until: the time range is empty")

    @property
    def whole_chains(self) -> bool:
        """True when the filter keeps every event of each chain it selects (none cut out)."""
        return self.actor is None and self.trigger is None and not (self.since or self.until)

    def criteria(self) -> dict[str, Any]:
        """The filter as ``store.audit_log`` takes it: every field, None for "any"."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def as_dict(self) -> dict[str, Any]:
        """The filter as JSON-ready values (instants in ISO-8601 UTC), ``None`` left out."""
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in self.__dict__.items()
            if value is not None
        }


def audit_rows(engine: Engine, flt: AuditFilter | None = None) -> Iterator[Any]:
    """Audit rows with their instance's head (``head_state``, ``head_version``,
    ``head_last_hash``), by (instance, seq), streamed in batches from one read snapshot."""
    with engine.read_transaction() as conn:
        yield from audit_log.rows_with_heads(conn, (flt or AuditFilter()).criteria())


def count_audit_rows(engine: Engine, flt: AuditFilter | None = None) -> int:
    """How many events :func:`audit_rows` would yield (for a progress bar)."""
    with engine.read_transaction() as conn:
        return audit_log.count_rows(conn, (flt or AuditFilter()).criteria())


def search(engine: Engine, flt: AuditFilter, *, limit: int | None = None) -> Iterator[AuditEvent]:
    """Audit events across instances matching ``flt``, oldest first, streamed."""
    with engine.read_transaction() as conn:
        for row in audit_log.search_rows(conn, flt.criteria(), limit):
            yield to_event(row)


@dataclass(frozen=True)
class Snapshot:
    """An instance as it stood at ``at``: replayed from its audit chain."""

    instance_id: int
    at: datetime
    state: str
    data: Mapping[str, Any]
    version: int
    active_since: datetime
    last_event: AuditEvent


def state_at(engine: Engine, instance_id: int, at: datetime) -> Snapshot:
    """Replay ``instance_id``'s chain up to ``at`` (inclusive): its state, data and version then.

    Raises :class:`~workflow.NotFound` for an unknown instance and
    :class:`~workflow.InvalidInput` when ``at`` is before the instance was started.
    """
    at = require_aware(at, "at")
    last: AuditEvent | None = None
    for event in engine.history(instance_id):
        if event.occurred_at > at:
            break
        last = event
    if last is None:
        first = engine.history(instance_id)[0].occurred_at
        raise InvalidInput(
            f"instance {instance_id} did not exist yet at {at.isoformat()}: "
            f"it was started at {first.isoformat()}"
        )
    return Snapshot(
        instance_id=instance_id,
        at=at,
        state=last.to_state,
        data=dict(last.data),
        version=last.seq,
        active_since=last.occurred_at,
        last_event=last,
    )


def instances_without_events(engine: Engine) -> list[int]:
    """Instances whose chain is empty (every event deleted): each is a broken chain."""
    with engine.read_transaction() as conn:
        return chains.instances_without_events(conn)


def headless_chains(engine: Engine) -> list[ChainProblem]:
    """Chains whose audit events remain while the instance row is gone, one problem each."""
    with engine.read_transaction() as conn:
        return [headless_chain(i) for i in audit_log.headless_chain_ids(conn)]
