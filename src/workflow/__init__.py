"""workflow: declarative, persisted, audited state machines for the lifecycle of directives.

The public API; everything else is private to the package and may change.
"""

from workflow._apply import StartRequest
from workflow.admin.dbcopy import CopyReport, copy_database
from workflow.admin.migration import (
    InstanceMove,
    MigrationPlan,
    MigrationRequest,
    migrate_instances,
)
from workflow.admin.versions import (
    AdminChange,
    diff_versions,
    parse_version_ref,
    retire_version,
    set_workflow_disabled,
)
from workflow.audit import ChainProblem, VerificationReport
from workflow.auditing.checkpoints import (
    Checkpoint,
    CheckpointSignatureError,
    read_checkpoint,
    take_checkpoint,
    write_checkpoint,
)
from workflow.auditing.export import EXPORT_FIELDS, ExportFile, export_header, read_export
from workflow.auditing.export import write_csv as write_audit_csv
from workflow.auditing.export import write_jsonl as write_audit_jsonl
from workflow.auditing.graphs import GRAPH_FORMATS, Highlight, path_of, render_graph, taken_path
from workflow.auditing.reads import (
    AuditFilter,
    Snapshot,
    audit_rows,
    count_audit_rows,
    instances_without_events,
    state_at,
)
from workflow.auditing.reads import search as search_audit
from workflow.auditing.verify import LogVerification, verify_log
from workflow.catalog import validate_definition
from workflow.clock import Clock, FrozenClock, SystemClock, parse_instant, require_aware
from workflow.definition.diff import DefinitionDiff, DiffEntry, diff_definitions
from workflow.definition.durations import parse_span
from workflow.definition.model import Definition
from workflow.definition.schema import json_schema as definition_json_schema
from workflow.directives.demo import DemoResult, run_demo
from workflow.directives.files import DirectiveFileError, parse_deadline
from workflow.directives.imports import (
    DirectiveConflict,
    DirectiveImport,
    DirectiveRecord,
    Unit,
    UnitsImport,
    get_directive,
    import_directive,
    import_units,
    list_units,
    report_difficulty,
)
from workflow.directives.report import HEADERS as REPORT_HEADERS
from workflow.directives.report import (
    DirectiveReport,
    ItemStatus,
    directive_report,
    render_csv,
    render_markdown,
    report_json,
)
from workflow.directives.report import summary_lines as report_summary_lines
from workflow.directives.report import table_rows as report_table_rows
from workflow.engine import Engine
from workflow.errors import (
    AuditError,
    ConcurrentModification,
    DefinitionError,
    DefinitionIssue,
    DeliveryFailed,
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
from workflow.events.bus import Event, EventBus
from workflow.events.dispatch import (
    DispatchRun,
    OutboxEntry,
    RetryPolicy,
    dispatch_pending,
    get_event,
    list_events,
    publish,
    retry_event,
)
from workflow.events.notices import NextActorNotices, who_acts_next
from workflow.events.sinks import JsonLinesSink, WebhookSink, load_sinks, verify_signature
from workflow.limits import MAX_PAYLOAD_BYTES
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
from workflow.timers.claims import (
    TimerInfo,
    TimerRun,
    claim_due,
    drain_due_timers,
    fire_claimed,
    list_timers,
    run_due_timers,
)
from workflow.timers.deadlines import due_instances
from workflow.timers.worker import run_worker

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "EXPORT_FIELDS",
    "GRAPH_FORMATS",
    "MAX_PAYLOAD_BYTES",
    "REPORT_HEADERS",
    "Actor",
    "AdminChange",
    "AuditError",
    "AuditEvent",
    "AuditFilter",
    "ChainProblem",
    "Checkpoint",
    "CheckpointSignatureError",
    "Clock",
    "ConcurrentModification",
    "CopyReport",
    "DatabaseOptions",
    "Definition",
    "DefinitionDiff",
    "DefinitionError",
    "DefinitionIssue",
    "DeliveryFailed",
    "DemoResult",
    "DeployResult",
    "DeployedDefinition",
    "DiffEntry",
    "DirectiveConflict",
    "DirectiveFileError",
    "DirectiveImport",
    "DirectiveRecord",
    "DirectiveReport",
    "DispatchRun",
    "Engine",
    "Event",
    "EventBus",
    "ExportFile",
    "FireResult",
    "FrozenClock",
    "GuardContext",
    "GuardFailed",
    "Highlight",
    "Instance",
    "InstanceMove",
    "InvalidInput",
    "ItemStatus",
    "JsonLinesSink",
    "LogVerification",
    "MigrationPlan",
    "MigrationRefused",
    "MigrationRequest",
    "NextActorNotices",
    "NotFound",
    "OutboxEntry",
    "PermissionDenied",
    "Registry",
    "RetryPolicy",
    "SchemaOutOfDate",
    "Snapshot",
    "StartRequest",
    "SystemClock",
    "TimerInfo",
    "TimerRun",
    "TransitionNotAllowed",
    "Unit",
    "UnitsImport",
    "UnknownTrigger",
    "VerificationReport",
    "WebhookSink",
    "WorkflowError",
    "__version__",
    "audit_rows",
    "claim_due",
    "copy_database",
    "count_audit_rows",
    "default_registry",
    "definition_json_schema",
    "diff_definitions",
    "diff_versions",
    "directive_report",
    "dispatch_pending",
    "drain_due_timers",
    "due_instances",
    "export_header",
    "fire_claimed",
    "get_directive",
    "get_event",
    "import_directive",
    "import_units",
    "instances_without_events",
    "list_events",
    "list_timers",
    "list_units",
    "load_sinks",
    "migrate_instances",
    "parse_deadline",
    "parse_instant",
    "parse_span",
    "parse_version_ref",
    "path_of",
    "publish",
    "read_checkpoint",
    "read_export",
    "render_csv",
    "render_graph",
    "render_markdown",
    "report_difficulty",
    "report_json",
    "report_summary_lines",
    "report_table_rows",
    "require_aware",
    "retire_version",
    "retry_event",
    "retry_on_conflict",
    "run_demo",
    "run_due_timers",
    "run_worker",
    "search_audit",
    "set_workflow_disabled",
    "state_at",
    "take_checkpoint",
    "taken_path",
    "validate_definition",
    "verify_log",
    "verify_signature",
    "who_acts_next",
    "write_audit_csv",
    "write_audit_jsonl",
    "write_checkpoint",
]
