"""Directives as data: import the unit registry and a directive, fanning its items out to units.

Importing a directive writes the directive row and one instance per addressed unit and item in
one transaction, each linked to the directive and its item; a second import of the same number
changes nothing and says so. Chaining (plan → signing → archiving) is declared in the
definitions with ``spawn`` effects; this module only starts the first link of each chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from workflow._steps import StartRequest, start_in
from workflow.directives.files import (
    DirectiveDoc,
    DirectiveFileError,
    DirectiveHeading,
    Item,
    counts_working_days,
    load_directive,
    load_units,
)
from workflow.engine import Engine
from workflow.errors import DefinitionIssue, NotFound, WorkflowError
from workflow.hashchain.encoding import canonical_json
from workflow.i18n import _
from workflow.logs import get_logger
from workflow.records import Actor, FireResult
from workflow.store import Connection, chain_writer
from workflow.store import directives as stored
from workflow.store import repository as repo

log = get_logger("workflow.directives")

IMPORTER_ROLE = "system"
"""Instances fanned out by an import are started by an actor with this role."""


class DirectiveConflict(WorkflowError):
    """A directive with this number was already imported from different content."""

    def __init__(self, number: str, stored_hash: str, new_hash: str) -> None:
        self.number = number
        super().__init__(
            _(
                "directive {number} was already imported from different content (stored "
                "{stored}, file {new}); a directive is imported once and nothing was changed",
                number=number,
                stored=stored_hash[:12],
                new=new_hash[:12],
            )
        )


@dataclass(frozen=True)
class Unit:
    code: str
    name_vi: str
    name_en: str
    kind: str
    parent: str | None


@dataclass(frozen=True)
class UnitsImport:
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class DirectiveRecord(DirectiveHeading):
    """A stored directive: its row and the document it was imported from."""

    id: int
    document: Mapping[str, Any]

    @property
    def overseers(self) -> frozenset[str]:
        """The units that lead or coordinate an item naming a lead (the Standing Committee, the
        Propaganda Board, the Office for 19-CV/ĐUK): they oversee the whole directive, every
        unit's items included (``workflow.accounts.Sight``)."""
        found: set[str] = set()
        for item in self.document.get("items", ()):
            lead = item.get("lead")
            if lead:
                found.add(str(lead))
                found.update(str(unit) for unit in item.get("coordinating") or ())
        return frozenset(found)


@dataclass(frozen=True)
class DirectiveImport:
    """What an import did: ``created`` is False when the number was already imported."""

    directive: DirectiveRecord
    created: bool
    started: Mapping[str, int] = field(default_factory=dict)

    @property
    def instances(self) -> int:
        return sum(self.started.values())

    @property
    def message(self) -> str:
        if not self.created:
            return _(
                "directive {number} was already imported (id {id}); nothing changed",
                number=self.directive.number,
                id=self.directive.id,
            )
        parts = ", ".join(_("item {key}: {count}", key=k, count=n) for k, n in self.started.items())
        return _(
            "imported directive {number} (id {id}): {instances} instances started ({parts})",
            number=self.directive.number,
            id=self.directive.id,
            instances=self.instances,
            parts=parts,
        )


def document_hash(doc: DirectiveDoc) -> str:
    return hashlib.sha256(canonical_json(doc.document).encode("utf-8")).hexdigest()


# --- units ---------------------------------------------------------------------------------------


def import_units(engine: Engine, path: str | Path) -> UnitsImport:
    """Create or update the units of a units file, in one transaction."""
    parsed = load_units(path)
    created = updated = unchanged = 0
    with engine.transaction() as conn:
        existing = {r.code: r for r in stored.unit_rows(conn)}
        for unit in parsed:
            values = {
                "name_vi": unit.name_vi,
                "name_en": unit.name_en,
                "kind": unit.kind,
                "parent_code": unit.parent,
            }
            row = existing.get(unit.code)
            if row is None:
                stored.insert_unit(conn, unit.code, values)
                created += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                stored.update_unit(conn, unit.code, values)
                updated += 1
            else:
                unchanged += 1
    log.info("units.imported", created=created, updated=updated, unchanged=unchanged)
    return UnitsImport(created, updated, unchanged)


def list_units(engine: Engine, kind: str | None = None) -> list[Unit]:
    """Registered units, by code (only those of ``kind`` when given)."""
    with engine.read_transaction() as conn:
        return _units(conn, kind)


def _units(conn: Connection, kind: str | None = None) -> list[Unit]:
    rows = stored.unit_rows(conn, kind)
    return [Unit(r.code, r.name_vi, r.name_en, r.kind, r.parent_code) for r in rows]


# --- directives ----------------------------------------------------------------------------------


def import_directive(engine: Engine, path: str | Path, *, by: str = "admin") -> DirectiveImport:
    """Import a directive file and fan its items out to units, all in one transaction.

    Idempotent by number: the same file again returns ``created=False`` and changes nothing;
    different content under a number already imported raises :class:`DirectiveConflict`.
    """
    doc = load_directive(path)  # every problem of the file before any database use
    if any(counts_working_days(item.deadline_text or "") for item in doc.items):
        with engine.read_transaction() as conn:
            calendar = repo.work_calendar(conn)  # with the administrators' declared days
        doc = load_directive(path, calendar=calendar)
    digest = document_hash(doc)
    actor = Actor(by, (IMPORTER_ROLE,))
    for workflow in dict.fromkeys(item.workflow for item in doc.items):
        engine.compile_ahead(workflow)  # not inside the transaction below
    now = engine.now()
    with engine.transaction() as conn:
        existing = stored.directive_row(conn, doc.number)
        if existing is not None:
            if existing.content_hash != digest:
                raise DirectiveConflict(doc.number, existing.content_hash, digest)
            return DirectiveImport(_record(existing), created=False)
        plan = _fan_out_plan(conn, doc)
        directive_id = stored.insert_directive(
            conn,
            {
                **doc.heading(),
                "document": doc.document,
                "content_hash": digest,
                "imported_at": now,
                "imported_by": by,
            },
        )
        started: dict[str, int] = {}
        for item, unit_codes in plan:
            fields = engine.machine_for(conn, item.workflow, None).definition.fields
            data = _item_data(doc, item, fields)
            for code in unit_codes:
                request = StartRequest(
                    data=data,
                    unit=code,
                    coordinating_units=tuple(c for c in item.coordinating if c != code),
                    directive_id=directive_id,
                    item_key=item.key,
                )
                start_in(
                    conn, engine.machine_for, engine.registry, item.workflow, request, actor, now
                )
            started[item.key] = len(unit_codes)
        chain_writer.append_admin_event(
            conn,
            "directive_import",
            doc.number,
            by,
            {"content_hash": digest, "file": doc.source_file, "started": started},
            now,
        )
        record = directive_in(conn, doc.number)
    log.info("directive.imported", number=doc.number, instances=sum(started.values()))
    return DirectiveImport(record, created=True, started=started)


def _fan_out_plan(conn: Connection, doc: DirectiveDoc) -> list[tuple[Item, list[str]]]:
    """Which units each item starts an instance for; every unknown unit is reported at once."""
    known = {u.code: u for u in _units(conn)}
    issues: list[DefinitionIssue] = []
    plan: list[tuple[Item, list[str]]] = []
    for item in doc.items:
        named = [c for c in (item.lead, *item.coordinating, *(item.addressees or ())) if c]
        for code in dict.fromkeys(named):
            if code not in known:
                issues.append(
                    DefinitionIssue(
                        doc.source_file,
                        item.line,
                        f"items[{item.key}]",
                        _(
                            "unit {code!r} is not registered (import the units file first)",
                            code=code,
                        ),
                    )
                )
        if item.on_demand:
            continue
        if item.addressees is not None:
            targets = list(dict.fromkeys(item.addressees))
        elif item.addressee_kind is not None:
            targets = [u.code for u in known.values() if u.kind == item.addressee_kind]
            if not targets:
                issues.append(
                    DefinitionIssue(
                        doc.source_file,
                        item.line,
                        f"items[{item.key}].addressees",
                        _(
                            "no registered unit is of kind {kind!r}",
                            kind=item.addressee_kind,
                        ),
                    )
                )
        else:
            targets = [item.lead] if item.lead else []
        plan.append((item, targets))
    if issues:
        raise DirectiveFileError("directive file", issues)
    return plan


def _item_data(doc: DirectiveDoc, item: Item, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The data an item's instances start with: only the fields their workflow declares."""
    values: dict[str, Any] = {
        "directive_number": doc.number,
        "item_title": item.title,
        "deadline": None if item.deadline is None else item.deadline.isoformat(),
    }
    return {k: v for k, v in values.items() if k in fields and v is not None}


def directive_in(conn: Connection, number: str) -> DirectiveRecord:
    """The directive ``number`` read on an open connection; raises :class:`NotFound`."""
    row = stored.directive_row(conn, number)
    if row is None:
        raise NotFound("directive", number)
    return _record(row)


def _record(row: Any) -> DirectiveRecord:
    heading = {f.name: row._mapping[f.name] for f in fields(DirectiveHeading)}
    return DirectiveRecord(**heading, id=int(row.id), document=dict(row.document))


def get_directive(engine: Engine, number: str) -> DirectiveRecord:
    """The imported directive with this number; raises :class:`NotFound`."""
    with engine.read_transaction() as conn:
        return directive_in(conn, number)


def list_directives(engine: Engine) -> list[DirectiveRecord]:
    """Every imported directive, the newest first."""
    with engine.read_transaction() as conn:
        return [_record(row) for row in stored.directive_rows(conn)]


def item_of(record: DirectiveRecord, key: str) -> Mapping[str, Any]:
    """The item ``key`` as written in the directive's document."""
    for item in record.document.get("items", ()):
        if item.get("key") == key:
            return dict(item)
    raise NotFound("item", _("{key} of {number}", key=key, number=record.number))


def report_difficulty(
    engine: Engine,
    number: str,
    actor: Actor,
    *,
    description: str,
    proposal: str | None = None,
    item_key: str = "3",
    workflow: str = "difficulty_report",
) -> FireResult:
    """A unit reports a difficulty upward under a directive's item (item 3 of 19-CV/ĐUK)."""
    record = get_directive(engine, number)
    item = item_of(record, item_key)
    data: dict[str, Any] = {
        "directive_number": record.number,
        "item_title": item.get("title", ""),
        "description": description,
    }
    if proposal:
        data["proposal"] = proposal
    return engine.start(
        workflow,
        actor,
        data=data,
        unit=actor.unit,
        directive_id=record.id,
        item_key=item_key,
    )
