"""The public API is what ``workflow.__all__`` and each feature package's ``__all__`` say;
changing them is a decision. The root holds the engine, its records, errors, clock and registry;
each feature package is the face of its feature."""

from __future__ import annotations

import importlib

import pytest

import workflow

ROOT = {
    "Actor",
    "RegisteredActor",
    "load_functions",
    "UnreadableRecord",
    "ReservedIdentity",
    "AuditError",
    "AuditEvent",
    "ChainProblem",
    "Clock",
    "CommitOutcomeUnknown",
    "ConnectionLost",
    "ConcurrentModification",
    "IdempotencyKeyReused",
    "NotASimulation",
    "TimeRunsBackwards",
    "DEFAULT_URL",
    "DatabaseBusy",
    "DatabaseMissing",
    "DatabaseOptions",
    "DatabaseUnavailable",
    "Definition",
    "DefinitionDiff",
    "DefinitionError",
    "DefinitionIssue",
    "DeliveryFailed",
    "DeployResult",
    "DeployedDefinition",
    "DiffEntry",
    "Engine",
    "FireResult",
    "FrozenClock",
    "GuardContext",
    "GuardFailed",
    "InputTooLarge",
    "Instance",
    "InvalidInput",
    "MAX_JSON_FILE_BYTES",
    "MAX_PAYLOAD_BYTES",
    "MigrationRefused",
    "MissingExtra",
    "NotFound",
    "PermissionDenied",
    "Registry",
    "SchemaOutOfDate",
    "StartRequest",
    "SystemClock",
    "TransitionNotAllowed",
    "TriggerMenu",
    "TriggerOption",
    "UnknownTrigger",
    "VerificationReport",
    "WorkflowError",
    "__version__",
    "default_registry",
    "definition_json_schema",
    "diff_definitions",
    "parse_instant",
    "parse_json",
    "parse_span",
    "read_limited",
    "read_text",
    "require_aware",
    "retry_on_conflict",
    "validate_definition",
}

FACES = {
    "workflow.accounts": {
        "ADMINISTRATOR_ROLE",
        "AUDITOR_ROLE",
        "MAX_PASSWORD_CHARS",
        "MIN_PASSWORD_CHARS",
        "Account",
        "IssuedToken",
        "LoginThrottle",
        "LoginThrottled",
        "NotAuthenticated",
        "Principal",
        "Sight",
        "Token",
        "add_user",
        "can_see",
        "check_password",
        "count_visible",
        "create_token",
        "disable_user",
        "list_tokens",
        "list_users",
        "principal_for_token",
        "principal_for_user",
        "revoke_token",
        "sees",
        "set_password",
        "set_password_hasher",
        "visible_instances",
    },
    "workflow.scenarios": {"ScenarioFailed", "ScenarioReport", "read_scenarios", "run_scenarios"},
    "workflow.admin": {
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
    },
    "workflow.auditing": {
        "ADMIN_EXPORT_FIELDS",
        "AdminEvent",
        "AdminLogVerification",
        "AuditFilter",
        "AuditKeys",
        "Checkpoint",
        "CheckpointSignatureError",
        "EXPORT_FIELDS",
        "ExportFile",
        "GRAPH_FORMATS",
        "Highlight",
        "LogVerification",
        "Snapshot",
        "admin_log",
        "admin_log_records",
        "audit_rows",
        "count_audit_rows",
        "export_header",
        "headless_chains",
        "instances_without_events",
        "path_of",
        "read_checkpoint",
        "read_export",
        "render_graph",
        "search_audit",
        "state_at",
        "take_checkpoint",
        "taken_path",
        "verify_admin_log",
        "verify_admin_records",
        "verify_database",
        "verify_log",
        "write_audit_csv",
        "write_audit_jsonl",
        "write_audit_xlsx",
        "write_checkpoint",
    },
    "workflow.directives": {
        "DirectiveConflict",
        "DirectiveFileError",
        "DirectiveImport",
        "DirectiveRecord",
        "DirectiveReport",
        "ItemStatus",
        "REPORT_HEADERS",
        "Unit",
        "UnitsImport",
        "directive_report",
        "get_directive",
        "import_directive",
        "import_units",
        "list_directives",
        "list_units",
        "parse_deadline",
        "render_csv",
        "render_markdown",
        "render_report_html",
        "report_difficulty",
        "report_json",
        "report_headers",
        "report_summary_lines",
        "report_table_rows",
        "write_report_xlsx",
    },
    "workflow.embedding": {
        "AsyncEngine",
        "AsyncTransaction",
        "alembic_include_name",
        "table_names",
    },
    "workflow.testing": {
        "DEFAULT_START",
        "Harness",
        "actors_from_table",
        "harness",
    },
    "workflow.events": {
        "DispatchRun",
        "Event",
        "EventBus",
        "JsonLinesSink",
        "NextActorNotices",
        "OutboxEntry",
        "RetryPolicy",
        "WebhookSink",
        "committed_events",
        "dispatch_pending",
        "get_event",
        "list_events",
        "load_sinks",
        "prune_delivered",
        "publish",
        "retry_event",
        "run_dispatcher",
        "verify_signature",
        "who_acts_next",
    },
    "workflow.i18n": {
        "DOMAIN",
        "LANGUAGES",
        "LOCALE_DIR",
        "Language",
        "N_",
        "_",
        "as_language",
        "format_day",
        "format_decimal",
        "format_moment",
        "format_span",
        "gettext",
        "in_language",
        "language",
        "locale_language",
        "machine_zone",
        "ngettext",
        "reset_language",
        "resolve_language",
        "set_language",
        "start_of_day",
        "translations",
        "use_language",
        "zone_name",
    },
    "workflow.timers": {
        "TimerInfo",
        "TimerRun",
        "claim_due",
        "drain_due_timers",
        "due_instances",
        "fire_claimed",
        "list_timers",
        "retry_timer",
        "run_due_timers",
        "run_worker",
    },
    # the web console's page data and diagrams (its routes come with the service)
    "workflow.web": {
        "Action",
        "DashboardPage",
        "Field",
        "InboxPage",
        "ItemPage",
        "Viewer",
        "actions",
        "chain_of",
        "dashboard",
        "inbox",
        "item_page",
        "oversees",
        "render_svg",
        "routes",
    },
}

PACKAGES = ["workflow", *FACES]


def test_root_all_is_pinned():
    assert set(workflow.__all__) == ROOT


@pytest.mark.parametrize("face", sorted(FACES))
def test_feature_all_is_pinned(face):
    assert set(importlib.import_module(face).__all__) == FACES[face]


def test_the_root_stays_a_few_dozen_names():
    assert len(ROOT) <= 64


def test_no_name_has_two_public_homes():
    homes = [ROOT, *FACES.values()]
    assert sum(len(h) for h in homes) == len(set().union(*homes))


def test_the_demo_is_not_public():
    assert not {"run_demo", "DemoResult"} & set().union(ROOT, *FACES.values())


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_exists(package):
    module = importlib.import_module(package)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_error_is_a_workflow_error(package):
    module = importlib.import_module(package)
    errors = [getattr(module, n) for n in module.__all__
              if isinstance(getattr(module, n), type) and issubclass(getattr(module, n), Exception)]
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
