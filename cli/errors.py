"""The one place where errors become exit codes (documented in the README)."""

from __future__ import annotations

OK = 0
REFUSED = 1  # the rules said no: not allowed, guard failed, permission denied, not found
BAD_INPUT = 2  # bad input or usage: invalid definition, bad JSON, bad option, schema behind
TAMPERED = 3  # audit verification found a broken chain
CONFLICT = 4  # concurrent modification: reload and retry
INTERNAL = 70  # a bug: please report it (set WORKFLOW_DEBUG=1 for the traceback)


def exit_code_for(exc: BaseException) -> int:
    """Map a library error to its exit code, by class name so this module imports nothing heavy."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "ConcurrentModification" in names:
        return CONFLICT
    if "AuditError" in names:
        return TAMPERED
    if names & {"DefinitionError", "InvalidInput", "SchemaOutOfDate"}:
        return BAD_INPUT
    if "WorkflowError" in names:
        return REFUSED
    return INTERNAL
