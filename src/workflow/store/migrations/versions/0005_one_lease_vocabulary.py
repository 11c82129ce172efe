"""one lease-queue vocabulary: the timers speak the outbox's words

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00

Both queues claim rows under a lease; until now the timers said ``claimed``/``claimed_by``/
``failed`` where the outbox said ``leased``/``lease_owner``/``dead``. The timers take the
outbox's words (``store/leases.py`` says why): the column ``timers.claimed_by`` becomes
``lease_owner``, a ``claimed`` timer is ``leased`` and a ``failed`` one ``dead``. The outbox is
unchanged. SQLite renames the column in place (batch mode, ``ALTER TABLE ... RENAME COLUMN``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_STATUSES = (("claimed", "leased"), ("failed", "dead"))


def _rename(old_column: str, new_column: str, statuses: tuple[tuple[str, str], ...]) -> None:
    with op.batch_alter_table("timers", recreate="never") as batch:
        batch.alter_column(
            old_column,
            new_column_name=new_column,
            existing_type=sa.String(length=200),
            existing_nullable=True,
        )
    timers = sa.table("timers", sa.column("status", sa.String(20)))
    for old, new in statuses:
        op.execute(timers.update().where(timers.c.status == old).values(status=new))


def upgrade() -> None:
    _rename("claimed_by", "lease_owner", _STATUSES)


def downgrade() -> None:
    _rename("lease_owner", "claimed_by", tuple((new, old) for old, new in _STATUSES))
