"""Rows to records: what the store hands back to the engine."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Row

from workflow.errors import UnreadableRecord
from workflow.records import AuditEvent, Instance

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Record = TypeVar("Record", bound="DataclassInstance")


def by_name(record: type[Record], row: Any) -> Record:
    """The dataclass ``record`` whose fields are columns of ``row``, name for name (a timer or
    an outbox row as an administrator lists it)."""
    values = row._mapping if isinstance(row, Row) else row
    return record(**{f.name: values[f.name] for f in fields(record)})


_raw_decode = json.JSONDecoder().raw_decode


def read_json(text: str) -> Any:
    """``json.loads(text)`` for the compact JSON the engine writes (the value spans the whole
    text): ``raw_decode`` spares ``json.loads``' two Python calls and two whitespace scans,
    and anything else goes through ``json.loads``, which raises as it always does."""
    try:
        value, end = _raw_decode(text)
    except (TypeError, ValueError):
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def stored_json(text: str, what: str, column: str) -> Any:
    """A JSON column as the engine wrote it; text that is not JSON names its row."""
    try:
        return read_json(text)
    except (TypeError, ValueError):
        raise UnreadableRecord(what, column) from None


def to_instance(row: Any, data: Mapping[str, Any] | None = None) -> Instance:
    """The instance record of ``row``; ``data``: its data already decoded, and the record's
    own (a fire builds its result from the values it wrote)."""
    r = row._mapping if isinstance(row, Row) else row
    return Instance(
        id=int(r["id"]),
        workflow=r["workflow"],
        definition_version=int(r["definition_version"]),
        state=r["state"],
        data=dict(r["data"]) if data is None else data,
        version=int(r["version"]),
        active=bool(r["active"]),
        unit=r["unit"],
        coordinating_units=tuple(r["coordinating_units"] or ()),
        directive_id=r["directive_id"],
        item_key=r["item_key"],
        parent_id=r["parent_id"],
        due_at=r["due_at"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def to_event(row: Any, event_id: int | None = None) -> AuditEvent:
    """The audit event record of ``row``; ``event_id`` when the row (as written) has no id."""
    r = row._mapping if isinstance(row, Row) else row
    return AuditEvent(
        id=int(r["id"] if event_id is None else event_id),
        instance_id=int(r["instance_id"]),
        seq=int(r["seq"]),
        kind=r["kind"],
        trigger=r["trigger"],
        from_state=r["from_state"],
        to_state=r["to_state"],
        actor=r["actor"],
        actor_roles=tuple(_event_json(r, "actor_roles")),
        actor_unit=r["actor_unit"],
        reason=r["reason"],
        payload=_event_json(r, "payload"),
        data=_event_json(r, "data"),
        workflow=r["workflow"],
        definition_version=int(r["definition_version"]),
        definition_hash=r["definition_hash"],
        occurred_at=r["occurred_at"],
        prev_hash=r["prev_hash"],
        hash=r["hash"],
        channel=r.get("channel"),
    )


def _event_json(r: Mapping[Any, Any], column: str) -> Any:
    """A JSON column of an audit row; the row is named only when the column is not JSON (a
    history of thousands of events never spells the name out)."""
    try:
        return read_json(r[column])
    except (TypeError, ValueError):
        what = f"audit event {r['seq']} of instance {r['instance_id']} (id {r.get('id')})"
        raise UnreadableRecord(what, column) from None
