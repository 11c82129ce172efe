"""Rows to records: what the store hands back to the engine."""

from __future__ import annotations

import json
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


def stored_json(text: str, what: str, column: str) -> Any:
    """A JSON column as the engine wrote it; text that is not JSON names its row."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise UnreadableRecord(what, column) from None


def to_instance(row: Any) -> Instance:
    r = row._mapping if isinstance(row, Row) else row
    return Instance(
        id=int(r["id"]),
        workflow=r["workflow"],
        definition_version=int(r["definition_version"]),
        state=r["state"],
        data=dict(r["data"]),
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


def to_event(row: Any) -> AuditEvent:
    r = row._mapping if isinstance(row, Row) else row
    what = f"audit event {r['seq']} of instance {r['instance_id']} (id {r['id']})"
    return AuditEvent(
        id=int(r["id"]),
        instance_id=int(r["instance_id"]),
        seq=int(r["seq"]),
        kind=r["kind"],
        trigger=r["trigger"],
        from_state=r["from_state"],
        to_state=r["to_state"],
        actor=r["actor"],
        actor_roles=tuple(stored_json(r["actor_roles"], what, "actor_roles")),
        actor_unit=r["actor_unit"],
        reason=r["reason"],
        payload=stored_json(r["payload"], what, "payload"),
        data=stored_json(r["data"], what, "data"),
        workflow=r["workflow"],
        definition_version=int(r["definition_version"]),
        definition_hash=r["definition_hash"],
        occurred_at=r["occurred_at"],
        prev_hash=r["prev_hash"],
        hash=r["hash"],
        channel=r.get("channel"),
    )
