"""The public API is exactly what ``workflow.__all__`` says; changing it is a decision."""

from __future__ import annotations

import workflow

EXPECTED = {
    "DEFAULT_URL", "MAX_PAYLOAD_BYTES", "Actor", "AuditError", "AuditEvent", "ChainProblem",
    "Clock", "ConcurrentModification", "DatabaseOptions", "Definition", "DefinitionError",
    "DefinitionIssue", "DeployResult", "DeployedDefinition", "Engine", "FireResult",
    "FrozenClock", "GuardContext", "GuardFailed", "Instance", "InvalidInput", "NotFound",
    "PermissionDenied", "Registry", "SchemaOutOfDate", "StartRequest", "SystemClock",
    "TimerRun", "TransitionNotAllowed", "UnknownTrigger", "VerificationReport", "WorkflowError",
    "__version__", "default_registry", "definition_json_schema", "parse_instant",
    "require_aware", "run_due_timers", "validate_definition",
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
