"""accounts, API tokens, and the channel of each audit event

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 23:30:00

``accounts``: a person's login (an Argon2id hash of the password) acting as one registered actor;
``api_tokens``: an application's bearer token, stored as the SHA-256 of its secret, with its
expiry and revocation. ``audit_events.channel``: where a transition came from (``api``, ``web``,
``cli``), part of the event's hash when present; null on every event written before it and by
callers that do not say (an embedding application, the timer worker).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflow.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", workflow.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", workflow.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actors.id"], name=op.f("fk_accounts_actor_id_actors")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_accounts")),
    )
    op.create_table(
        "api_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", workflow.store.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", workflow.store.types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", workflow.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actors.id"], name=op.f("fk_api_tokens_actor_id_actors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_tokens_secret_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_actor_id"), ["actor_id"], unique=False)
    with op.batch_alter_table("audit_events", recreate="never") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", recreate="never") as batch:
        batch.drop_column("channel")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_actor_id"))
    op.drop_table("api_tokens")
    op.drop_table("accounts")
