"""Schema migrations through Alembic, run on our own connection; the scripts ship in the package.

Alembic is imported only to migrate: the check every ``Engine`` makes at creation (is the
database at this code's revision?) reads the revision graph from the scripts' own
``revision = ...`` lines and the ``alembic_version`` table with one query, because importing
Alembic took a fifth of a one-shot ``workflow fire`` (see docs/performance.md). Measured again
for issue 17 before choosing to keep this reader over Alembic's ``ScriptDirectory``:
``import alembic.script`` on top of ``import workflow.engine`` took 1.4-2.5 s more on the shared
two-core machine (the engine's own import: 1.3-3.0 s), so the twin stays, held to Alembic's
answers by ``tests/test_schema_revisions.py``; ``upgrade`` runs Alembic itself.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateSchema

from workflow.errors import SchemaOutOfDate
from workflow.store.database import SCHEMA_OPTION
from workflow.store.transactions import read_transaction, write_transaction

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "workflow.store:migrations"
_VERSIONS = Path(__file__).parent / "migrations" / "versions"
_VERSION_TABLE = "alembic_version"


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


_FIRST_DEFINITION = re.compile(r"^(?:def|async\s+def|class)\s", re.MULTILINE)


def _literal(node: ast.expr) -> Any:
    """A script's identifier as written: text, None, or a tuple or list of those (what
    Alembic's template writes); anything else is ValueError. Read from the syntax tree, never
    evaluated."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return node.value
    if isinstance(node, ast.Tuple | ast.List):
        values = tuple(_literal(item) for item in node.elts)
        return values if isinstance(node, ast.Tuple) else list(values)
    raise ValueError(ast.dump(node))


def _assignments(source: str) -> dict[str, Any]:
    """The module-level ``name = value`` of a script (a value that is not a literal: its node)."""
    found: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and node.value is not None:
                    try:
                        found[target.id] = _literal(node.value)
                    except ValueError:
                        found[target.id] = node.value
    return found


def _identifiers(path: Path) -> dict[str, Any]:
    """A script's assignments, read from its head when they are there (Alembic's template puts
    them before ``upgrade``): parsing a whole script of DDL took 10 ms of every ``Engine()``."""
    source = path.read_text(encoding="utf-8")
    first = _FIRST_DEFINITION.search(source)
    if first is not None:
        try:
            head = _assignments(source[: first.start()])
        except SyntaxError:  # the cut fell inside a string: read the whole script
            head = {}
        if "revision" in head:
            return head
    return _assignments(source)


@cache
def _graph() -> dict[str, tuple[str, ...]] | None:
    """revision → its down revisions, read from the scripts; None if a script is not plain."""
    graph: dict[str, tuple[str, ...]] = {}
    for path in sorted(_VERSIONS.glob("*.py")):
        found = _identifiers(path)
        if "revision" not in found:
            continue  # __init__.py and helpers
        revision, down = found["revision"], found.get("down_revision")
        downs = (down,) if isinstance(down, str) else tuple(down or ())
        if not isinstance(revision, str) or not all(isinstance(d, str) for d in downs):
            return None
        graph[revision] = downs
    return graph or None


def _alembic_scripts() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def owned_tables() -> frozenset[str]:
    """Every table this code's migrations create, and Alembic's version table: what an
    application sharing the database must leave to ``workflow db upgrade``."""
    from workflow.store.tables import metadata

    return frozenset(metadata.tables) | {_VERSION_TABLE}


def head_revision() -> str:
    """The revision this version of the code needs."""
    graph = _graph()
    if graph is not None:
        referenced = {d for downs in graph.values() for d in downs}
        heads = [r for r in graph if r not in referenced]
        if len(heads) == 1:
            return heads[0]
    # Anything unusual (several heads, computed ids): let Alembic decide and explain.
    head = _alembic_scripts().get_current_head()
    assert head is not None
    return str(head)


def is_known(revision: str | None) -> bool:
    """Whether this code's migrations contain ``revision`` (None: a database never migrated)."""
    if revision is None:
        return True
    graph = _graph()
    if graph is not None:
        return revision in graph
    from alembic.util import CommandError

    try:
        return _alembic_scripts().get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    """Where the database stands (None for a database never migrated)."""
    with read_transaction(engine) as connection:
        return _revision(connection)


def _revision(connection: Connection) -> str | None:
    # Same lookup as Alembic's MigrationContext: the table on the search path, if any.
    if not inspect(connection).has_table(_VERSION_TABLE):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    if len(rows) > 1:
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(connection).get_current_revision()
    return str(rows[0][0]) if rows else None


# pg_advisory_xact_lock key held while migrating: two `db upgrade` at once run one after the
# other, and the second finds nothing left to do ("workflow" in ASCII).
_MIGRATION_LOCK = 0x776F726B666C6F77


def upgrade(engine: Engine, revision: str = "head", *, only_if_empty: bool = False) -> None:
    """Upgrade the schema to ``revision`` in one transaction.

    The transaction holds the write lock from its first statement (SQLite ``BEGIN IMMEDIATE``,
    a PostgreSQL advisory lock) and reads the revision under it, so processes that migrate at
    once queue and the later ones find the work done. ``only_if_empty``: do nothing unless the
    database has no table at all (the implicit creation of a new SQLite file).

    On PostgreSQL the schema named by ``?schema=`` is created first if it does not exist, so a
    new tenant needs nothing but ``workflow db upgrade``.
    """
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            # A migration may rewrite a large table: the app's statement timeout is not for it.
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            schema = engine.get_execution_options().get(SCHEMA_OPTION)
            if schema:
                # the name was checked against [a-z_][a-z0-9_]* when the engine was made
                connection.execute(CreateSchema(schema, if_not_exists=True))
        current = _revision(connection)
        if not is_known(current):
            raise SchemaOutOfDate(current, head_revision(), ahead=True)
        if only_if_empty and (current is not None or inspect(connection).get_table_names()):
            return
        from alembic import command

        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)
