"""The engine's own reader of the migration scripts agrees with Alembic's ScriptDirectory."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from workflow.store import migrate


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate._config())


def test_the_head_is_alembics_head():
    assert migrate.head_revision() == _scripts().get_current_head()


def test_every_revision_alembic_knows_is_known():
    revisions = [script.revision for script in _scripts().walk_revisions()]
    assert revisions
    assert all(migrate.is_known(revision) for revision in revisions)


def test_a_revision_alembic_does_not_know_is_not_known():
    assert not migrate.is_known("ffffffffffff")
