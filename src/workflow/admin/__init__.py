"""Administration: operations on deployed definitions and on the database as a whole.

:mod:`~workflow.admin.versions` retires versions, disables workflows and diffs two versions
(each change recorded as an administrator's event); :mod:`~workflow.admin.migration` moves
running instances from one definition version to another after checking that each one fits;
:mod:`~workflow.admin.dbcopy` copies a whole database into an empty one (SQLite to PostgreSQL
and back) and verifies the audit chains on arrival; :mod:`~workflow.admin.simulation` marks a
database as a simulation, the only kind on which events may be dated by a chosen time. These
are the operator's verbs, run rarely and deliberately, never on the hot path of a transition.
"""

from __future__ import annotations

from workflow.admin.dbcopy import CopyReport, copy_database
from workflow.admin.migration import (
    InstanceMove,
    MigrationPlan,
    MigrationRequest,
    migrate_instances,
)
from workflow.admin.simulation import is_simulation, mark_simulation, require_simulation
from workflow.admin.versions import (
    AdminChange,
    diff_versions,
    parse_version_ref,
    retire_version,
    set_workflow_disabled,
    unretire_version,
)

__all__ = [
    "AdminChange",
    "CopyReport",
    "InstanceMove",
    "MigrationPlan",
    "MigrationRequest",
    "copy_database",
    "diff_versions",
    "is_simulation",
    "mark_simulation",
    "migrate_instances",
    "parse_version_ref",
    "require_simulation",
    "retire_version",
    "set_workflow_disabled",
    "unretire_version",
]
