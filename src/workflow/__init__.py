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
from workflow.demo import DemoResult, run_demo
from workflow.directive_file import DirectiveFileError, parse_deadline
from workflow.directive_report import HEADERS as REPORT_HEADERS
from workflow.directive_report import (
    DirectiveReport,
    ItemStatus,
    directive_report,
    render_csv,
    render_markdown,
    report_json,
)
from workflow.directive_report import summary_lines as report_summary_lines
from workflow.directive_report import table_rows as report_table_rows
from workflow.directives import (
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
from workflow.dispatch import (
    DispatchRun,
    OutboxEntry,
    RetryPolicy,
    dispatch_pending,
    get_event,
    list_events,
    publish,
    retry_event,
)
from workflow.engine import MAX_PAYLOAD_BYTES, Engine
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
from workflow.events import Event, EventBus
from workflow.migration import InstanceMove, MigrationPlan, MigrationRequest, migrate_instances
from workflow.notifications import NextActorNotices, who_acts_next
from workflow.records import (
    Actor,
    AuditEvent,
    DeployedDefinition,
    DeployResult,
    FireResult,
    Instance,
)
from workflow.registry import GuardContext, Registry, default_registry
from workflow.sinks import JsonLinesSink, WebhookSink, load_sinks, verify_signature
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
    "REPORT_HEADERS",
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
    "FireResult",
    "FrozenClock",
    "GuardContext",
    "GuardFailed",
    "Instance",
    "InstanceMove",
    "InvalidInput",
    "ItemStatus",
    "JsonLinesSink",
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
    "StartRequest",
    "SystemClock",
    "TimerRun",
    "TransitionNotAllowed",
    "Unit",
    "UnitsImport",
    "UnknownTrigger",
    "VerificationReport",
    "WebhookSink",
    "WorkflowError",
    "__version__",
    "default_registry",
    "definition_json_schema",
    "diff_definitions",
    "diff_versions",
    "directive_report",
    "dispatch_pending",
    "get_directive",
    "get_event",
    "import_directive",
    "import_units",
    "list_events",
    "list_units",
    "load_sinks",
    "migrate_instances",
    "parse_deadline",
    "parse_instant",
    "parse_version_ref",
    "publish",
    "render_csv",
    "render_markdown",
    "report_difficulty",
    "report_json",
    "report_summary_lines",
    "report_table_rows",
    "require_aware",
    "retire_version",
    "retry_event",
    "run_demo",
    "run_due_timers",
    "set_workflow_disabled",
    "validate_definition",
    "verify_signature",
    "who_acts_next",
]
