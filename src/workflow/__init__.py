"""workflow: declarative, persisted, audited state machines for the lifecycle of directives.

The public API; everything else is private to the package and may change.
"""

from workflow._apply import StartRequest
from workflow.audit import ChainProblem, VerificationReport
from workflow.catalog import validate_definition
from workflow.clock import Clock, FrozenClock, SystemClock, parse_instant, require_aware
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
    NotFound,
    PermissionDenied,
    SchemaOutOfDate,
    TransitionNotAllowed,
    UnknownTrigger,
    WorkflowError,
)
from workflow.events import Event, EventBus
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

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "MAX_PAYLOAD_BYTES",
    "REPORT_HEADERS",
    "Actor",
    "AuditError",
    "AuditEvent",
    "ChainProblem",
    "Clock",
    "ConcurrentModification",
    "DatabaseOptions",
    "Definition",
    "DefinitionError",
    "DefinitionIssue",
    "DeliveryFailed",
    "DemoResult",
    "DeployResult",
    "DeployedDefinition",
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
    "InvalidInput",
    "ItemStatus",
    "JsonLinesSink",
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
    "directive_report",
    "dispatch_pending",
    "get_directive",
    "get_event",
    "import_directive",
    "import_units",
    "list_events",
    "list_units",
    "load_sinks",
    "parse_deadline",
    "parse_instant",
    "publish",
    "render_csv",
    "render_markdown",
    "report_difficulty",
    "report_json",
    "report_summary_lines",
    "report_table_rows",
    "require_aware",
    "retry_event",
    "run_demo",
    "run_due_timers",
    "validate_definition",
    "verify_signature",
    "who_acts_next",
]
