"""keyed audit events: a key id and an HMAC on every audit and administrators' event

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 20:05:00

Both columns stay null on events written without an audit key (and on every event written
before this revision): those are reported as unkeyed, never as verified by a key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("audit_events", "admin_events")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, recreate="never") as batch:
            batch.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
            batch.add_column(sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, recreate="never") as batch:
            batch.drop_column("mac")
            batch.drop_column("key_id")
