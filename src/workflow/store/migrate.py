"""Schema migrations through Alembic, run on our own connection; the scripts ship in the package."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateSchema

from workflow.errors import SchemaOutOfDate
from workflow.store.database import SCHEMA_OPTION

SCRIPT_LOCATION = "workflow.store:migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision this version of the code needs."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def is_known(revision: str | None) -> bool:
    """Whether this code's migrations contain ``revision`` (None: a database never migrated)."""
    if revision is None:
        return True
    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    """Where the database stands (None for a database never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` in one transaction.

    On PostgreSQL the schema named by ``?schema=`` is created first if it does not exist, so a
    new tenant needs nothing but ``workflow db upgrade``.
    """
    current = current_revision(engine)
    if not is_known(current):
        raise SchemaOutOfDate(current, head_revision(), ahead=True)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A migration may rewrite a large table: the app's statement timeout is not for it.
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            schema = engine.get_execution_options().get(SCHEMA_OPTION)
            if schema:
                # the name was checked against [a-z_][a-z0-9_]* when the engine was made
                connection.execute(CreateSchema(schema, if_not_exists=True))
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)
