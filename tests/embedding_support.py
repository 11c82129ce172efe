"""An application embedding the engine, for the embedding tests: its own SQLAlchemy engine on the
test database, its own table, and the workflow engine built over that engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from workflow import Engine, FrozenClock, Registry


@dataclass
class App:
    """The application's engine and table, and the workflow engine over the same pool."""

    db: sa.Engine
    uploads: sa.Table
    workflow: Engine

    def upload_names(self) -> list[str]:
        with self.db.connect() as conn:
            return list(conn.execute(sa.select(self.uploads.c.name)).scalars())


@contextmanager
def application(database_url: str, clock: FrozenClock, registry: Registry) -> Iterator[App]:
    """``database_url`` is the test's migrated database (``?schema=`` on PostgreSQL): the
    application's engine points at the same database, its table in its own place (the default
    schema), the workflow's tables where the URL's schema says."""
    url = make_url(database_url)
    schema = url.query.get("schema")
    assert schema is None or isinstance(schema, str)
    app_db = sa.create_engine(url.difference_update_query(["schema"]))
    metadata = sa.MetaData()
    uploads = sa.Table(
        f"uploads_{uuid.uuid4().hex[:8]}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    metadata.create_all(app_db)
    workflow = Engine.from_sqlalchemy(
        app_db, schema=schema, clock=clock, registry=registry, keys_from_environment=False
    )
    try:
        yield App(app_db, uploads, workflow)
    finally:
        workflow.close()
        metadata.drop_all(app_db)
        app_db.dispose()
