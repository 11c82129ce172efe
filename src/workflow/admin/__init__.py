"""Administration: operations on deployed definitions and on the database as a whole.

:mod:`~workflow.admin.versions` retires versions, disables workflows and diffs two versions
(each change recorded as an administrator's event); :mod:`~workflow.admin.migration` moves
running instances from one definition version to another after checking that each one fits;
:mod:`~workflow.admin.dbcopy` copies a whole database into an empty one (SQLite to PostgreSQL
and back) and verifies the audit chains on arrival; :mod:`~workflow.admin.simulation` marks a
database as a simulation, the only kind on which events may be dated by a chosen time;
:mod:`~workflow.admin.calendar` declares the working-day calendar's make-up days and extra days
off, per year. These
are the operator's verbs, run rarely and deliberately, never on the hot path of a transition.
"""

from __future__ import annotations

from workflow.admin.calendar import (
    CalendarDay,
    CalendarDeploy,
    CalendarFileError,
    add_working_days,
    calendar_year,
    deploy_calendar,
    parse_day,
    work_calendar,
)
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
    "CalendarDay",
    "CalendarDeploy",
    "CalendarFileError",
    "CopyReport",
    "InstanceMove",
    "MigrationPlan",
    "MigrationRequest",
    "add_working_days",
    "calendar_year",
    "copy_database",
    "deploy_calendar",
    "diff_versions",
    "is_simulation",
    "mark_simulation",
    "migrate_instances",
    "parse_day",
    "parse_version_ref",
    "require_simulation",
    "retire_version",
    "set_workflow_disabled",
    "unretire_version",
    "work_calendar",
]
