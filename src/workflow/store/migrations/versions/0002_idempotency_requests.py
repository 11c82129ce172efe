"""idempotency keys bound to their request

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 19:50:00.000000

Each idempotency key is bound to the request it first served: its parts (operation, instance or
workflow, trigger, actor, digests of payload or data and reason) and their fingerprint. Keys
already stored get theirs from the audit event they applied, which holds the request as it was
sent (a start's data and placement, a fire's trigger, actor, payload and reason).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from workflow.store.idempotency import fire_request, placement, start_request

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _request_of(row: Any) -> Any:
    if row.kind == "start":
        where = placement(
            row.unit,
            _json(row.coordinating_units) or (),
            row.directive_id,
            row.item_key,
            row.parent_id,
        )
        return start_request(row.key, row.workflow, row.actor, json.loads(row.data), where)
    return fire_request(
        row.key, row.instance_id, row.trigger, row.actor, json.loads(row.payload), row.reason
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.add_column(sa.Column("request", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    keys = sa.table(
        "idempotency_keys",
        sa.column("key"),
        sa.column("instance_id"),
        sa.column("seq"),
        sa.column("request", sa.JSON()),
        sa.column("fingerprint"),
    )
    audit = sa.table(
        "audit_events",
        *(sa.column(c) for c in ("instance_id", "seq", "kind", "workflow", "trigger")),
        *(sa.column(c) for c in ("actor", "payload", "reason", "data")),
    )
    instances = sa.table(
        "instances",
        *(sa.column(c) for c in ("id", "unit", "directive_id", "item_key", "parent_id")),
        sa.column("coordinating_units", sa.JSON()),
    )
    rows = conn.execute(
        sa.select(
            keys.c.key,
            keys.c.instance_id,
            audit.c.kind,
            audit.c.workflow,
            audit.c.trigger,
            audit.c.actor,
            audit.c.payload,
            audit.c.reason,
            audit.c.data,
            instances.c.unit,
            instances.c.coordinating_units,
            instances.c.directive_id,
            instances.c.item_key,
            instances.c.parent_id,
        )
        .join(
            audit,
            (audit.c.instance_id == keys.c.instance_id) & (audit.c.seq == keys.c.seq),
        )
        .join(instances, instances.c.id == keys.c.instance_id)
    ).all()
    for row in rows:
        request = _request_of(row)
        conn.execute(
            sa.update(keys)
            .where(keys.c.key == row.key)
            .values(request=dict(request.parts), fingerprint=request.fingerprint)
        )
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.alter_column("request", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("fingerprint", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.drop_column("fingerprint")
        batch_op.drop_column("request")
