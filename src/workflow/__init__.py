"""workflow: declarative, persisted, audited state machines for the lifecycle of directives.

The public API; everything else is private to the package and may change.
"""

from workflow._apply import StartRequest
from workflow.audit import ChainProblem, VerificationReport
from workflow.catalog import validate_definition
from workflow.clock import Clock, FrozenClock, SystemClock, parse_instant, require_aware
from workflow.dbcopy import CopyReport, copy_database
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
    NotFound,
    PermissionDenied,
    SchemaOutOfDate,
    TransitionNotAllowed,
    UnknownTrigger,
    WorkflowError,
)
from workflow.records import (
    Actor,
    AuditEvent,
    DeployedDefinition,
    DeployResult,
    FireResult,
    Instance,
)
from workflow.registry import GuardContext, Registry, default_registry
from workflow.retry import retry_on_conflict
from workflow.store.database import DEFAULT_URL, DatabaseOptions
from workflow.timers import TimerRun, run_due_timers

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "MAX_PAYLOAD_BYTES",
    "Actor",
    "AuditError",
    "AuditEvent",
    "ChainProblem",
    "Clock",
    "ConcurrentModification",
    "CopyReport",
    "DatabaseOptions",
    "Definition",
    "DefinitionError",
    "DefinitionIssue",
    "DeployResult",
    "DeployedDefinition",
    "Engine",
    "FireResult",
    "FrozenClock",
    "GuardContext",
    "GuardFailed",
    "Instance",
    "InvalidInput",
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
    "copy_database",
    "default_registry",
    "definition_json_schema",
    "parse_instant",
    "require_aware",
    "retry_on_conflict",
    "run_due_timers",
    "validate_definition",
]
