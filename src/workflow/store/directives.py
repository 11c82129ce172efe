"""The statements of directives and the unit registry: units, directive rows, their instances."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row

from workflow.store.tables import directives, instances, units


def unit_rows(conn: Connection, kind: str | None = None) -> Sequence[Row[Any]]:
    """Registered units by code (only those of ``kind`` when given)."""
    query = select(units).order_by(units.c.code)
    if kind is not None:
        query = query.where(units.c.kind == kind)
    return conn.execute(query).all()


def unit_names(conn: Connection) -> dict[str, str]:
    """Each unit's Vietnamese name, by code."""
    return {r.code: r.name_vi for r in conn.execute(select(units.c.code, units.c.name_vi))}


def insert_unit(conn: Connection, code: str, values: Mapping[str, Any]) -> None:
    conn.execute(insert(units).values(code=code, **values))


def update_unit(conn: Connection, code: str, values: Mapping[str, Any]) -> None:
    conn.execute(update(units).where(units.c.code == code).values(**values))


def directive_row(conn: Connection, number: str) -> Row[Any] | None:
    return conn.execute(select(directives).where(directives.c.number == number)).first()


def directive_rows(conn: Connection) -> Sequence[Row[Any]]:
    """Every imported directive, newest first."""
    return conn.execute(select(directives).order_by(directives.c.id.desc())).all()


def insert_directive(conn: Connection, values: Mapping[str, Any]) -> int:
    """Insert a directive row; its id."""
    inserted = conn.execute(insert(directives).values(**values).returning(directives.c.id))
    return int(inserted.scalar_one())


_REPORTED = (
    "id", "parent_id", "unit", "item_key", "workflow", "definition_version", "state", "active",
    "due_at", "updated_at",
)  # fmt: skip
"""The columns a directive's report reads: not the data, whose JSON is most of a row's cost."""


def directive_instance_rows(conn: Connection, directive_id: int) -> Sequence[Row[Any]]:
    """Every instance of a directive (chained ones included), by id: the columns the report
    reads (:data:`_REPORTED`)."""
    columns = [instances.c[name] for name in _REPORTED]
    return conn.execute(
        select(*columns).where(instances.c.directive_id == directive_id).order_by(instances.c.id)
    ).all()
