"""Alembic environment: always runs on a connection handed over by :mod:`workflow.store.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from workflow.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through `workflow db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
