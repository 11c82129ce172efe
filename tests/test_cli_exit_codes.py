"""Exit codes come from the error classes themselves (cli/errors.py), subclasses included."""

from __future__ import annotations

import pytest

import workflow
from cli.errors import exit_code_for
from workflow.auditing.checkpoints import CheckpointSignatureError
from workflow.directives.files import DirectiveFileError

EXPECTED = {
    "CommitOutcomeUnknown": 5,
    "ConcurrentModification": 4,
    "AuditError": 3, CheckpointSignatureError: 3,
    "DefinitionError": 2, "InvalidInput": 2, "SchemaOutOfDate": 2, DirectiveFileError: 2,
    "NotFound": 1, "UnknownTrigger": 1, "TransitionNotAllowed": 1, "GuardFailed": 1,
    "PermissionDenied": 1, "DeliveryFailed": 1, "MigrationRefused": 1, "WorkflowError": 1,
    ValueError: 70, KeyError: 70,
}


@pytest.mark.parametrize(("error", "code"), list(EXPECTED.items()),
                         ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", None))
def test_exit_code_of_each_error_class(error, code):
    cls = getattr(workflow, error) if isinstance(error, str) else error
    assert exit_code_for(cls.__new__(cls)) == code


def test_every_public_error_has_an_exit_code_below_internal():
    errors = [v for v in vars(workflow.errors).values()
              if isinstance(v, type) and issubclass(v, workflow.WorkflowError)]
    assert errors
    assert all(exit_code_for(cls.__new__(cls)) < 70 for cls in errors)
