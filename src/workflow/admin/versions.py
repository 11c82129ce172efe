"""Administering deployed versions: retire (or unretire) a version, disable or enable a
workflow, diff two.

Retiring a version stops new instances starting on it (they start on the newest version that is
not retired) until it is unretired; disabling a workflow stops new instances of every version.
Neither touches the instances already running: they keep firing on the version they are pinned
to. Every change is appended to the administrators' hash chain (``admin_events``).
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.definition.diff import DefinitionDiff, diff_definitions
from workflow.engine import Engine
from workflow.errors import InvalidInput, NotFound
from workflow.store import chain_writer, versioning
from workflow.store import repository as repo


@dataclass(frozen=True)
class AdminChange:
    """What an administrative action did; ``changed`` is False when it was already so."""

    action: str
    subject: str
    changed: bool
    live_instances: int = 0


def parse_version_ref(text: str) -> tuple[str, int]:
    """``NAME@VERSION`` → (name, version)."""
    name, _, version = text.partition("@")
    if not name or not version.isdigit():
        raise InvalidInput(f"{text!r}: expected NAME@VERSION (for example plan_drafting@2)")
    return name, int(version)


def retire_version(
    engine: Engine, workflow: str, version: int, *, actor: str = "admin"
) -> AdminChange:
    """Retire ``workflow@version``: no new instances on it; running ones carry on."""
    return _set_retired(engine, workflow, version, True, actor)


def unretire_version(
    engine: Engine, workflow: str, version: int, *, actor: str = "admin"
) -> AdminChange:
    """Put a retired ``workflow@version`` back in service: starts use it again when it is the
    newest version that is not retired."""
    return _set_retired(engine, workflow, version, False, actor)


def _set_retired(
    engine: Engine, workflow: str, version: int, retired: bool, actor: str
) -> AdminChange:
    action = "retire" if retired else "unretire"
    subject = f"{workflow}@{version}"
    now = engine.now()
    with engine.transaction() as conn:
        row = repo.definition_row(conn, workflow, version)
        if row is None:
            raise NotFound("definition", subject)
        live = versioning.live_count(conn, workflow, version)
        if bool(row.retired) == retired:
            return AdminChange(action, subject, changed=False, live_instances=live)
        versioning.set_retired(conn, workflow, version, retired)
        chain_writer.append_admin_event(
            conn, action, subject, actor, {"version": version, "live_instances": live}, now
        )
    return AdminChange(action, subject, changed=True, live_instances=live)


def set_workflow_disabled(
    engine: Engine, workflow: str, disabled: bool, *, actor: str = "admin"
) -> AdminChange:
    """Disable (no new instances of any version) or enable a workflow again."""
    action = "disable" if disabled else "enable"
    now = engine.now()
    with engine.transaction() as conn:
        row = repo.workflow_row(conn, workflow)
        if row is None:
            raise NotFound("deployed workflow", workflow)
        if bool(row.disabled) == disabled:
            return AdminChange(action, workflow, changed=False)
        versioning.set_disabled(conn, workflow, disabled)
        chain_writer.append_admin_event(conn, action, workflow, actor, {"disabled": disabled}, now)
    return AdminChange(action, workflow, changed=True)


def diff_versions(engine: Engine, workflow: str, old: int, new: int) -> DefinitionDiff:
    """What changed from ``workflow@old`` to ``workflow@new`` (states, transitions, guards ...)."""
    return diff_definitions(
        engine.definition(workflow, old), engine.definition(workflow, new), old, new
    )
