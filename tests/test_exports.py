"""The public API is exactly what ``workflow.__all__`` says; changing it is a decision."""

from __future__ import annotations

import workflow

EXPECTED = {
    "Actor",
    "AdminChange",
    "AuditError",
    "AuditEvent",
    "ChainProblem",
    "Clock",
    "ConcurrentModification",
    "DEFAULT_URL",
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
    "MAX_PAYLOAD_BYTES",
    "MigrationPlan",
    "MigrationRefused",
    "MigrationRequest",
    "NextActorNotices",
    "NotFound",
    "OutboxEntry",
    "PermissionDenied",
    "REPORT_HEADERS",
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
}


def test_all_is_pinned():
    assert set(workflow.__all__) == EXPECTED


def test_every_exported_name_exists():
    missing = [name for name in workflow.__all__ if not hasattr(workflow, name)]
    assert not missing


def test_every_error_is_a_workflow_error():
    errors = [getattr(workflow, n) for n in workflow.__all__
              if isinstance(getattr(workflow, n), type)
              and issubclass(getattr(workflow, n), Exception)]
    assert all(issubclass(e, workflow.WorkflowError) for e in errors)
