"""The engine's tables, for an application whose own Alembic history shares the database."""

from __future__ import annotations

from collections.abc import Mapping

from workflow.store.migrate import owned_tables


def table_names() -> frozenset[str]:
    """Every table the engine's migrations create, and ``alembic_version``, the table that
    records where the engine's schema stands."""
    return owned_tables()


def alembic_include_name(
    name: str | None, type_: str, parent_names: Mapping[str, str | None]
) -> bool:
    """An ``include_name`` hook for the application's ``alembic/env.py``, so that its
    ``--autogenerate`` never proposes to drop or alter the engine's tables in a database they
    share (a SQLite file; on PostgreSQL, keep the engine in its own schema instead)::

        context.configure(..., include_name=alembic_include_name,
                          version_table="app_alembic_version")

    The application's own version table must be named apart from ``alembic_version``, which
    the engine's migrations own when both live in one schema."""
    if type_ == "table":
        return name not in owned_tables()
    if type_ in ("column", "index", "unique_constraint", "foreign_key_constraint"):
        return parent_names.get("table_name") not in owned_tables()
    return True
