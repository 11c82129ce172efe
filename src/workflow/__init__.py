"""workflow: declarative, persisted, audited state machines for the lifecycle of directives.

The public API; everything else is private to the package and may change.
"""

from workflow._apply import StartRequest
from workflow.audit import ChainProblem, VerificationReport
from workflow.catalog import validate_definition
from workflow.clock import Clock, FrozenClock, SystemClock, parse_instant, require_aware
from workflow.definition.diff import DefinitionDiff, DiffEntry, diff_definitions
from workflow.definition.model import Definition
from workflow.definition.schema import json_schema as definition_json_schema
from workflow.engine import MAX_PAYLOAD_BYTES, Engine
from workflow.errors import (
    AuditError,
    ConcurrentModification,
    DefinitionError,
    DefinitionIssue,
    GuardFailed,
    InvalidInput,
    MigrationRefused,
    NotFound,
    PermissionDenied,
    SchemaOutOfDate,
    TransitionNotAllowed,
    UnknownTrigger,
    WorkflowError,
)
from workflow.migration import InstanceMove, MigrationPlan, MigrationRequest, migrate_instances
from workflow.records import (
    Actor,
    AuditEvent,
    DeployedDefinition,
    DeployResult,
    FireResult,
    Instance,
)
from workflow.registry import GuardContext, Registry, default_registry
from workflow.store.database import DEFAULT_URL, DatabaseOptions
from workflow.timers import TimerRun, run_due_timers
from workflow.versions import (
    AdminChange,
    diff_versions,
    parse_version_ref,
    retire_version,
    set_workflow_disabled,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "MAX_PAYLOAD_BYTES",
    "Actor",
    "AdminChange",
    "AuditError",
    "AuditEvent",
    "ChainProblem",
    "Clock",
    "ConcurrentModification",
    "DatabaseOptions",
    "Definition",
    "DefinitionDiff",
    "DefinitionError",
    "DefinitionIssue",
    "DeployResult",
    "DeployedDefinition",
    "DiffEntry",
    "Engine",
    "FireResult",
    "FrozenClock",
    "GuardContext",
    "GuardFailed",
    "Instance",
    "InstanceMove",
    "InvalidInput",
    "MigrationPlan",
    "MigrationRefused",
    "MigrationRequest",
    "NotFound",
    "PermissionDenied",
    "Registry",
    "SchemaOutOfDate",
    "StartRequest",
    "SystemClock",
    "TimerRun",
    "TransitionNotAllowed",
    "UnknownTrigger",
    "VerificationReport",
    "WorkflowError",
    "__version__",
    "default_registry",
    "definition_json_schema",
    "diff_definitions",
    "diff_versions",
    "migrate_instances",
    "parse_instant",
    "parse_version_ref",
    "require_aware",
    "retire_version",
    "run_due_timers",
    "set_workflow_disabled",
    "validate_definition",
]
