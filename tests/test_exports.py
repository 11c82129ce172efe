"""The public API is exactly what ``workflow.__all__`` says; changing it is a decision."""

from __future__ import annotations

import workflow

EXPECTED = {
    "verify_database",
    "ADMIN_EXPORT_FIELDS",
    "admin_log_records",
    "verify_admin_records",
    "headless_chains",
    "AdminEvent",
    "AdminLogVerification",
    "admin_log",
    "verify_admin_log",
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
    "EXPORT_FIELDS",
    "Engine",
    "Event",
    "EventBus",
    "ExportFile",
    "FireResult",
    "FrozenClock",
    "GRAPH_FORMATS",
    "GuardContext",
    "GuardFailed",
    "Highlight",
    "Instance",
    "InstanceMove",
    "InputTooLarge",
    "InvalidInput",
    "ItemStatus",
    "JsonLinesSink",
    "LogVerification",
    "MAX_JSON_FILE_BYTES",
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
    "parse_json",
    "parse_span",
    "read_limited",
    "read_text",
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
    "unretire_version",
    "retry_event",
    "prune_delivered",
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
    "validate_definition",
    "verify_log",
    "verify_signature",
    "who_acts_next",
    "write_audit_csv",
    "write_audit_jsonl",
    "write_checkpoint",
}


def test_all_is_pinned():
    assert set(workflow.__all__) == EXPECTED


def test_every_exported_name_exists():
    missing = [name for name in workflow.__all__ if not hasattr(workflow, name)]
    assert not missing


def test_every_error_is_a_workflow_error():
    errors = [
        getattr(workflow, n)
        for n in workflow.__all__
        if isinstance(getattr(workflow, n), type) and issubclass(getattr(workflow, n), Exception)
    ]
    assert all(issubclass(e, workflow.WorkflowError) for e in errors)


def test_names_imported_on_first_use_are_the_ones_the_type_checker_sees():
    """``__init__`` imports most names lazily (PEP 562) and again under ``TYPE_CHECKING`` for
    mypy: both lists must name the same objects."""
    import ast
    import importlib
    from pathlib import Path

    tree = ast.parse(Path(workflow.__file__).read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )
    seen = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            seen[alias.asname or alias.name] = (node.module, alias.name)
    assert seen == workflow._LAZY
    for public, (module, name) in seen.items():
        assert getattr(workflow, public) is getattr(importlib.import_module(module), name)
