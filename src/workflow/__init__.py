"""workflow: declarative, persisted, audited state machines for the lifecycle of directives.

The public API; everything else is private to the package and may change.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from workflow.clock import Clock, FrozenClock, SystemClock, parse_instant, require_aware
from workflow.errors import (
    AuditError,
    ConcurrentModification,
    DefinitionError,
    DefinitionIssue,
    DeliveryFailed,
    GuardFailed,
    InputTooLarge,
    InvalidInput,
    MigrationRefused,
    NotFound,
    PermissionDenied,
    SchemaOutOfDate,
    TransitionNotAllowed,
    UnknownTrigger,
    WorkflowError,
)
from workflow.limits import (
    MAX_JSON_FILE_BYTES,
    MAX_PAYLOAD_BYTES,
    parse_json,
    read_limited,
    read_text,
)
from workflow.records import (
    Actor,
    AuditEvent,
    DeployedDefinition,
    DeployResult,
    FireResult,
    Instance,
)

if TYPE_CHECKING:
    from workflow._steps import StartRequest
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
        unretire_version,
    )
    from workflow.auditing.admin_log import (
        AdminEvent,
        AdminLogVerification,
        admin_log,
        admin_log_records,
        verify_admin_log,
        verify_admin_records,
    )
    from workflow.auditing.checkpoints import (
        Checkpoint,
        CheckpointSignatureError,
        read_checkpoint,
        take_checkpoint,
        write_checkpoint,
    )
    from workflow.auditing.export import (
        ADMIN_EXPORT_FIELDS,
        EXPORT_FIELDS,
        ExportFile,
        export_header,
        read_export,
    )
    from workflow.auditing.export import write_csv as write_audit_csv
    from workflow.auditing.export import write_jsonl as write_audit_jsonl
    from workflow.auditing.graphs import GRAPH_FORMATS, Highlight, path_of, render_graph, taken_path
    from workflow.auditing.reads import (
        AuditFilter,
        Snapshot,
        audit_rows,
        count_audit_rows,
        headless_chains,
        instances_without_events,
        state_at,
    )
    from workflow.auditing.reads import search as search_audit
    from workflow.auditing.verify import LogVerification, verify_database, verify_log
    from workflow.catalog import validate_definition
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
    from workflow.events.retention import prune_delivered
    from workflow.events.sinks import JsonLinesSink, WebhookSink, load_sinks, verify_signature
    from workflow.hashchain import ChainProblem, VerificationReport
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
        retry_timer,
        run_due_timers,
    )
    from workflow.timers.deadlines import due_instances
    from workflow.timers.worker import run_worker

# Everything else is imported on first use (PEP 562), so that a command needing only the
# engine does not pay for pydantic, YAML and every feature package: public name -> (module,
# attribute). tests/test_exports.py checks it against the imports above, which mypy reads.
_LAZY: dict[str, tuple[str, str]] = {
    "StartRequest": ("workflow._steps", "StartRequest"),
    "CopyReport": ("workflow.admin.dbcopy", "CopyReport"),
    "copy_database": ("workflow.admin.dbcopy", "copy_database"),
    "InstanceMove": ("workflow.admin.migration", "InstanceMove"),
    "MigrationPlan": ("workflow.admin.migration", "MigrationPlan"),
    "MigrationRequest": ("workflow.admin.migration", "MigrationRequest"),
    "migrate_instances": ("workflow.admin.migration", "migrate_instances"),
    "AdminChange": ("workflow.admin.versions", "AdminChange"),
    "diff_versions": ("workflow.admin.versions", "diff_versions"),
    "parse_version_ref": ("workflow.admin.versions", "parse_version_ref"),
    "retire_version": ("workflow.admin.versions", "retire_version"),
    "unretire_version": ("workflow.admin.versions", "unretire_version"),
    "set_workflow_disabled": ("workflow.admin.versions", "set_workflow_disabled"),
    "ChainProblem": ("workflow.hashchain", "ChainProblem"),
    "VerificationReport": ("workflow.hashchain", "VerificationReport"),
    "Checkpoint": ("workflow.auditing.checkpoints", "Checkpoint"),
    "CheckpointSignatureError": ("workflow.auditing.checkpoints", "CheckpointSignatureError"),
    "read_checkpoint": ("workflow.auditing.checkpoints", "read_checkpoint"),
    "take_checkpoint": ("workflow.auditing.checkpoints", "take_checkpoint"),
    "write_checkpoint": ("workflow.auditing.checkpoints", "write_checkpoint"),
    "EXPORT_FIELDS": ("workflow.auditing.export", "EXPORT_FIELDS"),
    "ADMIN_EXPORT_FIELDS": ("workflow.auditing.export", "ADMIN_EXPORT_FIELDS"),
    "ExportFile": ("workflow.auditing.export", "ExportFile"),
    "export_header": ("workflow.auditing.export", "export_header"),
    "read_export": ("workflow.auditing.export", "read_export"),
    "write_audit_csv": ("workflow.auditing.export", "write_csv"),
    "write_audit_jsonl": ("workflow.auditing.export", "write_jsonl"),
    "GRAPH_FORMATS": ("workflow.auditing.graphs", "GRAPH_FORMATS"),
    "Highlight": ("workflow.auditing.graphs", "Highlight"),
    "path_of": ("workflow.auditing.graphs", "path_of"),
    "render_graph": ("workflow.auditing.graphs", "render_graph"),
    "taken_path": ("workflow.auditing.graphs", "taken_path"),
    "AuditFilter": ("workflow.auditing.reads", "AuditFilter"),
    "Snapshot": ("workflow.auditing.reads", "Snapshot"),
    "audit_rows": ("workflow.auditing.reads", "audit_rows"),
    "count_audit_rows": ("workflow.auditing.reads", "count_audit_rows"),
    "instances_without_events": ("workflow.auditing.reads", "instances_without_events"),
    "headless_chains": ("workflow.auditing.reads", "headless_chains"),
    "state_at": ("workflow.auditing.reads", "state_at"),
    "search_audit": ("workflow.auditing.reads", "search"),
    "LogVerification": ("workflow.auditing.verify", "LogVerification"),
    "verify_log": ("workflow.auditing.verify", "verify_log"),
    "verify_database": ("workflow.auditing.verify", "verify_database"),
    "AdminEvent": ("workflow.auditing.admin_log", "AdminEvent"),
    "AdminLogVerification": ("workflow.auditing.admin_log", "AdminLogVerification"),
    "admin_log": ("workflow.auditing.admin_log", "admin_log"),
    "admin_log_records": ("workflow.auditing.admin_log", "admin_log_records"),
    "verify_admin_records": ("workflow.auditing.admin_log", "verify_admin_records"),
    "verify_admin_log": ("workflow.auditing.admin_log", "verify_admin_log"),
    "validate_definition": ("workflow.catalog", "validate_definition"),
    "DefinitionDiff": ("workflow.definition.diff", "DefinitionDiff"),
    "DiffEntry": ("workflow.definition.diff", "DiffEntry"),
    "diff_definitions": ("workflow.definition.diff", "diff_definitions"),
    "parse_span": ("workflow.definition.durations", "parse_span"),
    "Definition": ("workflow.definition.model", "Definition"),
    "definition_json_schema": ("workflow.definition.schema", "json_schema"),
    "DemoResult": ("workflow.directives.demo", "DemoResult"),
    "run_demo": ("workflow.directives.demo", "run_demo"),
    "DirectiveFileError": ("workflow.directives.files", "DirectiveFileError"),
    "parse_deadline": ("workflow.directives.files", "parse_deadline"),
    "DirectiveConflict": ("workflow.directives.imports", "DirectiveConflict"),
    "DirectiveImport": ("workflow.directives.imports", "DirectiveImport"),
    "DirectiveRecord": ("workflow.directives.imports", "DirectiveRecord"),
    "Unit": ("workflow.directives.imports", "Unit"),
    "UnitsImport": ("workflow.directives.imports", "UnitsImport"),
    "get_directive": ("workflow.directives.imports", "get_directive"),
    "import_directive": ("workflow.directives.imports", "import_directive"),
    "import_units": ("workflow.directives.imports", "import_units"),
    "list_units": ("workflow.directives.imports", "list_units"),
    "report_difficulty": ("workflow.directives.imports", "report_difficulty"),
    "REPORT_HEADERS": ("workflow.directives.report", "HEADERS"),
    "DirectiveReport": ("workflow.directives.report", "DirectiveReport"),
    "ItemStatus": ("workflow.directives.report", "ItemStatus"),
    "directive_report": ("workflow.directives.report", "directive_report"),
    "render_csv": ("workflow.directives.report", "render_csv"),
    "render_markdown": ("workflow.directives.report", "render_markdown"),
    "report_json": ("workflow.directives.report", "report_json"),
    "report_summary_lines": ("workflow.directives.report", "summary_lines"),
    "report_table_rows": ("workflow.directives.report", "table_rows"),
    "Engine": ("workflow.engine", "Engine"),
    "Event": ("workflow.events.bus", "Event"),
    "EventBus": ("workflow.events.bus", "EventBus"),
    "DispatchRun": ("workflow.events.dispatch", "DispatchRun"),
    "OutboxEntry": ("workflow.events.dispatch", "OutboxEntry"),
    "RetryPolicy": ("workflow.events.dispatch", "RetryPolicy"),
    "dispatch_pending": ("workflow.events.dispatch", "dispatch_pending"),
    "get_event": ("workflow.events.dispatch", "get_event"),
    "list_events": ("workflow.events.dispatch", "list_events"),
    "publish": ("workflow.events.dispatch", "publish"),
    "retry_event": ("workflow.events.dispatch", "retry_event"),
    "prune_delivered": ("workflow.events.retention", "prune_delivered"),
    "NextActorNotices": ("workflow.events.notices", "NextActorNotices"),
    "who_acts_next": ("workflow.events.notices", "who_acts_next"),
    "JsonLinesSink": ("workflow.events.sinks", "JsonLinesSink"),
    "WebhookSink": ("workflow.events.sinks", "WebhookSink"),
    "load_sinks": ("workflow.events.sinks", "load_sinks"),
    "verify_signature": ("workflow.events.sinks", "verify_signature"),
    "GuardContext": ("workflow.registry", "GuardContext"),
    "Registry": ("workflow.registry", "Registry"),
    "default_registry": ("workflow.registry", "default_registry"),
    "retry_on_conflict": ("workflow.retry", "retry_on_conflict"),
    "DEFAULT_URL": ("workflow.store.database", "DEFAULT_URL"),
    "DatabaseOptions": ("workflow.store.database", "DatabaseOptions"),
    "TimerInfo": ("workflow.timers.claims", "TimerInfo"),
    "TimerRun": ("workflow.timers.claims", "TimerRun"),
    "claim_due": ("workflow.timers.claims", "claim_due"),
    "drain_due_timers": ("workflow.timers.claims", "drain_due_timers"),
    "fire_claimed": ("workflow.timers.claims", "fire_claimed"),
    "list_timers": ("workflow.timers.claims", "list_timers"),
    "retry_timer": ("workflow.timers.claims", "retry_timer"),
    "run_due_timers": ("workflow.timers.claims", "run_due_timers"),
    "due_instances": ("workflow.timers.deadlines", "due_instances"),
    "run_worker": ("workflow.timers.worker", "run_worker"),
}

__version__ = "0.1.0"

__all__ = [
    "ADMIN_EXPORT_FIELDS",
    "DEFAULT_URL",
    "EXPORT_FIELDS",
    "GRAPH_FORMATS",
    "MAX_JSON_FILE_BYTES",
    "MAX_PAYLOAD_BYTES",
    "REPORT_HEADERS",
    "Actor",
    "AdminChange",
    "AdminEvent",
    "AdminLogVerification",
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
    "InputTooLarge",
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
    "admin_log",
    "admin_log_records",
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
    "headless_chains",
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
    "parse_json",
    "parse_span",
    "parse_version_ref",
    "path_of",
    "prune_delivered",
    "publish",
    "read_checkpoint",
    "read_export",
    "read_limited",
    "read_text",
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
    "retry_timer",
    "run_demo",
    "run_due_timers",
    "run_worker",
    "search_audit",
    "set_workflow_disabled",
    "state_at",
    "take_checkpoint",
    "taken_path",
    "unretire_version",
    "validate_definition",
    "verify_admin_log",
    "verify_admin_records",
    "verify_database",
    "verify_log",
    "verify_signature",
    "who_acts_next",
    "write_audit_csv",
    "write_audit_jsonl",
    "write_checkpoint",
]


if not TYPE_CHECKING:  # hidden from mypy: it checks the names through the imports above

    def __getattr__(name: str) -> Any:
        try:
            module, attribute = _LAZY[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        value = getattr(import_module(module), attribute)
        globals()[name] = value  # once imported, a plain module attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(_LAZY))
