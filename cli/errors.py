"""The one place where errors become exit codes (documented in the README)."""

from __future__ import annotations

OK = 0
REFUSED = 1  # the rules said no: not allowed, guard failed, permission denied, not found
BAD_INPUT = 2  # bad input, usage or environment: invalid definition, bad JSON, bad option,
#               schema behind, a database that is missing, unreachable, read-only or full
TAMPERED = 3  # audit verification found a broken chain
CONFLICT = 4  # concurrent modification or the database busy (a timeout): retry
OUTCOME_UNKNOWN = 5  # the connection was lost during COMMIT: check, or resend with the same key
PIPE_CLOSED = 141  # the reader left (`| head`): 128 + SIGPIPE, what a shell reports for `seq`
INTERNAL = 70  # a bug: please report it (set WORKFLOW_DEBUG=1 for the traceback)


def exit_code_for(exc: BaseException) -> int:
    """Map an error to its exit code: the first of these classes it is an instance of (most
    specific first); anything that is not a WorkflowError is a bug."""
    # imported here, so that `workflow --help` does not load the library
    from workflow import (
        AuditError,
        CommitOutcomeUnknown,
        ConcurrentModification,
        DatabaseBusy,
        DatabaseUnavailable,
        DefinitionError,
        InvalidInput,
        SchemaOutOfDate,
        WorkflowError,
    )

    codes: tuple[tuple[type[WorkflowError], int], ...] = (
        (CommitOutcomeUnknown, OUTCOME_UNKNOWN),
        (ConcurrentModification, CONFLICT),
        (DatabaseBusy, CONFLICT),
        (AuditError, TAMPERED),
        (DefinitionError, BAD_INPUT),
        (InvalidInput, BAD_INPUT),
        (SchemaOutOfDate, BAD_INPUT),
        (DatabaseUnavailable, BAD_INPUT),
        (WorkflowError, REFUSED),
    )
    return next((code for cls, code in codes if isinstance(exc, cls)), INTERNAL)
