"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 21:51:45.421472

The append-only rule of the audit tables is enforced by the database itself (triggers), so
that neither the engine nor a careless script can update or delete an audit row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflow.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# The columns, keys and indexes below are spelled as Alembic's autogenerate wrote them; these
# helpers only say each repeated spelling once (the schema is the same, column for column).


def _key() -> sa.types.TypeEngine[int]:
    """An id: BIGINT, INTEGER on SQLite (its rowid alias)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", _key(), autoincrement=True, nullable=False)


def _ref(name: str, *, nullable: bool = False) -> sa.Column[int]:
    """A column holding another row's id."""
    return sa.Column(name, _key(), nullable=nullable)


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, workflow.store.types.UTCDateTime(), nullable=nullable)


def _text(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[str]:
    kind: sa.types.TypeEngine[str] = sa.Text() if length is None else sa.String(length=length)
    return sa.Column(name, kind, nullable=nullable)


def _int(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _fk(table: str, column: str, target: str, target_column: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.{target_column}"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _pk(table: str, column: str = "id") -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(column, name=op.f(f"pk_{table}"))


def _unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{'_'.join(columns)}"))


def _index_name(table: str, columns: list[str]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def _create_indexes(table: str, *indexes: list[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for columns in indexes:
            batch_op.create_index(batch_op.f(_index_name(table, columns)), columns, unique=False)


def _drop_indexes(table: str, *indexes: list[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for columns in reversed(indexes):
            batch_op.drop_index(batch_op.f(_index_name(table, columns)))


INDEXES = {
    "instances": (
        ["active", "due_at"],
        ["directive_id", "unit"],
        ["parent_id"],
        ["unit"],
        ["workflow", "state"],
    ),
    "audit_events": (["actor", "occurred_at"], ["occurred_at"], ["trigger", "occurred_at"]),
    "timers": (["instance_id", "status"], ["status", "due_at"]),
    "outbox": (["instance_id", "id"], ["status", "next_attempt_at"]),
}


def upgrade() -> None:
    op.create_table(
        "actors",
        _text("id", 200),
        sa.Column("roles", sa.JSON(), nullable=False),
        _text("unit", 100, nullable=True),
        _text("name", nullable=True),
        _at("created_at"),
        _pk("actors"),
    )
    op.create_table(
        "admin_events",
        _id(),
        _int("seq"),
        _text("action", 50),
        _text("subject"),
        _text("actor", 200),
        _text("detail"),
        _at("occurred_at"),
        _text("prev_hash", 64),
        _text("hash", 64),
        _pk("admin_events"),
        _unique("admin_events", "seq"),
    )
    op.create_table(
        "directives",
        _id(),
        _text("number", 100),
        _text("issuing_body"),
        _text("place"),
        _text("issued_on", 10),
        _text("subject"),
        _text("timezone", 64),
        sa.Column("document", sa.JSON(), nullable=False),
        _text("content_hash", 64),
        _at("imported_at"),
        _text("imported_by", 200),
        _pk("directives"),
        _unique("directives", "number"),
    )
    op.create_table(
        "units",
        _text("code", 100),
        _text("name_vi"),
        _text("name_en"),
        _text("kind", 50),
        _text("parent_code", 100, nullable=True),
        _pk("units", "code"),
    )
    op.create_table(
        "workflows",
        _text("name", 64),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _at("created_at"),
        _pk("workflows", "name"),
    )
    op.create_table(
        "definitions",
        _id(),
        _text("workflow", 64),
        _int("version"),
        _text("content_hash", 64),
        _text("source_text"),
        _text("source_file"),
        sa.Column("retired", sa.Boolean(), nullable=False),
        _at("deployed_at"),
        _text("deployed_by", 200),
        _fk("definitions", "workflow", "workflows", "name"),
        _pk("definitions"),
        _unique("definitions", "workflow", "version"),
    )
    op.create_table(
        "instances",
        _id(),
        _text("workflow", 64),
        _int("definition_version"),
        _text("state", 64),
        sa.Column("data", sa.JSON(), nullable=False),
        _int("version"),
        sa.Column("active", sa.Boolean(), nullable=False),
        _text("unit", 100, nullable=True),
        sa.Column("coordinating_units", sa.JSON(), nullable=False),
        _ref("directive_id", nullable=True),
        _text("item_key", 100, nullable=True),
        _ref("parent_id", nullable=True),
        _at("due_at", nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _text("last_hash", 64),
        _fk("instances", "directive_id", "directives"),
        _fk("instances", "parent_id", "instances"),
        _pk("instances"),
    )
    _create_indexes("instances", *INDEXES["instances"])

    op.create_table(
        "audit_events",
        _id(),
        _ref("instance_id"),
        _int("seq"),
        _text("kind", 20),
        _text("trigger", 64, nullable=True),
        _text("from_state", 64, nullable=True),
        _text("to_state", 64),
        _text("actor", 200),
        _text("actor_roles"),
        _text("actor_unit", 100, nullable=True),
        _text("reason", nullable=True),
        _text("payload"),
        _text("data"),
        _text("workflow", 64),
        _int("definition_version"),
        _text("definition_hash", 64),
        _at("occurred_at"),
        _text("prev_hash", 64),
        _text("hash", 64),
        _fk("audit_events", "instance_id", "instances"),
        _pk("audit_events"),
        _unique("audit_events", "instance_id", "seq"),
    )
    _create_indexes("audit_events", *INDEXES["audit_events"])

    op.create_table(
        "idempotency_keys",
        _text("key", 200),
        _ref("instance_id"),
        _int("seq"),
        _at("created_at"),
        _fk("idempotency_keys", "instance_id", "instances"),
        _pk("idempotency_keys", "key"),
    )
    op.create_table(
        "timers",
        _id(),
        _ref("instance_id"),
        _text("state", 64),
        _text("trigger", 64),
        _at("due_at"),
        _text("status", 20),
        _int("entered_version"),
        _text("claimed_by", 200, nullable=True),
        _at("lease_expires_at", nullable=True),
        _int("attempts"),
        _at("fired_at", nullable=True),
        _text("last_error", nullable=True),
        _at("created_at"),
        _fk("timers", "instance_id", "instances"),
        _pk("timers"),
    )
    _create_indexes("timers", *INDEXES["timers"])

    op.create_table(
        "outbox",
        _id(),
        _ref("audit_id"),
        _ref("instance_id"),
        _text("topic", 200),
        _text("status", 20),
        _int("attempts"),
        _at("next_attempt_at"),
        _text("lease_owner", 200, nullable=True),
        _at("lease_expires_at", nullable=True),
        _text("last_error", nullable=True),
        _at("created_at"),
        _at("delivered_at", nullable=True),
        _fk("outbox", "audit_id", "audit_events"),
        _pk("outbox"),
        _unique("outbox", "audit_id"),
    )
    _create_indexes("outbox", *INDEXES["outbox"])
    for table in APPEND_ONLY:
        _forbid_changes(table)


APPEND_ONLY = ("audit_events", "admin_events")


def _forbid_changes(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP FUNCTION {table}_append_only() CASCADE")
    for table in (
        "outbox", "timers", "idempotency_keys", "audit_events", "instances", "definitions",
        "workflows", "units", "directives", "admin_events", "actors",
    ):  # fmt: skip
        if table in INDEXES:
            _drop_indexes(table, *INDEXES[table])
        op.drop_table(table)
