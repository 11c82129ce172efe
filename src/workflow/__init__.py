"""workflow: declarative, persisted, audited state machines for the lifecycle of directives.

The public API; everything else is private to the package and may change.
"""

from workflow._apply import StartRequest
from workflow.audit import ChainProblem, VerificationReport
from workflow.audit_export import EXPORT_FIELDS, ExportFile, export_header, read_export
from workflow.audit_export import write_csv as write_audit_csv
from workflow.audit_export import write_jsonl as write_audit_jsonl
from workflow.audit_reads import (
    AuditFilter,
    Snapshot,
    audit_rows,
    count_audit_rows,
    instances_without_events,
    state_at,
)
from workflow.audit_reads import search as search_audit
from workflow.audit_verify import LogVerification, verify_log
from workflow.catalog import validate_definition
from workflow.checkpoints import (
    Checkpoint,
    CheckpointSignatureError,
    read_checkpoint,
    take_checkpoint,
    write_checkpoint,
)
from workflow.clock import Clock, FrozenClock, SystemClock, parse_instant, require_aware
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
from workflow.graphs import GRAPH_FORMATS, Highlight, path_of, render_graph, taken_path
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

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "EXPORT_FIELDS",
    "GRAPH_FORMATS",
    "MAX_PAYLOAD_BYTES",
    "Actor",
    "AuditError",
    "AuditEvent",
    "AuditFilter",
    "ChainProblem",
    "Checkpoint",
    "CheckpointSignatureError",
    "Clock",
    "ConcurrentModification",
    "DatabaseOptions",
    "Definition",
    "DefinitionError",
    "DefinitionIssue",
    "DeployResult",
    "DeployedDefinition",
    "Engine",
    "ExportFile",
    "FireResult",
    "FrozenClock",
    "GuardContext",
    "GuardFailed",
    "Highlight",
    "Instance",
    "InvalidInput",
    "LogVerification",
    "NotFound",
    "PermissionDenied",
    "Registry",
    "SchemaOutOfDate",
    "Snapshot",
    "StartRequest",
    "SystemClock",
    "TimerRun",
    "TransitionNotAllowed",
    "UnknownTrigger",
    "VerificationReport",
    "WorkflowError",
    "__version__",
    "audit_rows",
    "count_audit_rows",
    "default_registry",
    "definition_json_schema",
    "export_header",
    "instances_without_events",
    "parse_instant",
    "path_of",
    "read_checkpoint",
    "read_export",
    "render_graph",
    "require_aware",
    "run_due_timers",
    "search_audit",
    "state_at",
    "take_checkpoint",
    "taken_path",
    "validate_definition",
    "verify_log",
    "write_audit_csv",
    "write_audit_jsonl",
    "write_checkpoint",
]
