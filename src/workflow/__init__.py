"""workflow: declarative, persisted, audited state machines for the lifecycle of directives.

The public API; everything else is private to the package and may change.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from workflow import records as _records
from workflow.clock import Clock, FrozenClock, SystemClock, parse_instant, require_aware
from workflow.errors import (
    AuditError,
    CommitOutcomeUnknown,
    ConcurrentModification,
    ConnectionLost,
    DatabaseBusy,
    DatabaseMissing,
    DatabaseUnavailable,
    DefinitionError,
    DefinitionIssue,
    DeliveryFailed,
    GuardFailed,
    IdempotencyKeyReused,
    InputTooLarge,
    InvalidInput,
    MigrationRefused,
    MissingExtra,
    NotASimulation,
    NotFound,
    PermissionDenied,
    ReservedIdentity,
    SchemaOutOfDate,
    TimeRunsBackwards,
    TransitionNotAllowed,
    UnknownTrigger,
    UnreadableRecord,
    WorkflowError,
)
from workflow.limits import (
    MAX_JSON_FILE_BYTES,
    MAX_PAYLOAD_BYTES,
    parse_json,
    read_limited,
    read_text,
)
from workflow.records import *  # noqa: F403 - records.__all__ is the one list of the public records

if TYPE_CHECKING:
    from workflow._steps import StartRequest
    from workflow.catalog import validate_definition
    from workflow.definition.diff import (
        DefinitionDiff,
        DiffEntry,
        diff_definitions,
    )
    from workflow.definition.durations import parse_span
    from workflow.definition.model import Definition
    from workflow.definition.schema import json_schema as definition_json_schema
    from workflow.engine import Engine
    from workflow.hashchain.report import ChainProblem, VerificationReport
    from workflow.registry import (
        GuardContext,
        Registry,
        default_registry,
        load_functions,
    )
    from workflow.retry import retry_on_conflict
    from workflow.store.database import DEFAULT_URL, DatabaseOptions

# Everything else is imported on first use (PEP 562), so that a command needing only the
# engine does not pay for pydantic, YAML and every feature package: public name -> (module,
# attribute). tests/test_exports.py checks it against the imports above, which mypy reads.
_LAZY: dict[str, tuple[str, str]] = {
    "StartRequest": ("workflow._steps", "StartRequest"),
    "validate_definition": ("workflow.catalog", "validate_definition"),
    "DefinitionDiff": ("workflow.definition.diff", "DefinitionDiff"),
    "DiffEntry": ("workflow.definition.diff", "DiffEntry"),
    "diff_definitions": ("workflow.definition.diff", "diff_definitions"),
    "parse_span": ("workflow.definition.durations", "parse_span"),
    "Definition": ("workflow.definition.model", "Definition"),
    "definition_json_schema": ("workflow.definition.schema", "json_schema"),
    "Engine": ("workflow.engine", "Engine"),
    "ChainProblem": ("workflow.hashchain.report", "ChainProblem"),
    "VerificationReport": ("workflow.hashchain.report", "VerificationReport"),
    "GuardContext": ("workflow.registry", "GuardContext"),
    "Registry": ("workflow.registry", "Registry"),
    "default_registry": ("workflow.registry", "default_registry"),
    "load_functions": ("workflow.registry", "load_functions"),
    "retry_on_conflict": ("workflow.retry", "retry_on_conflict"),
    "DEFAULT_URL": ("workflow.store.database", "DEFAULT_URL"),
    "DatabaseOptions": ("workflow.store.database", "DatabaseOptions"),
}

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "MAX_JSON_FILE_BYTES",
    "MAX_PAYLOAD_BYTES",
    "AuditError",
    "ChainProblem",
    "Clock",
    "CommitOutcomeUnknown",
    "ConcurrentModification",
    "ConnectionLost",
    "DatabaseBusy",
    "DatabaseMissing",
    "DatabaseOptions",
    "DatabaseUnavailable",
    "Definition",
    "DefinitionDiff",
    "DefinitionError",
    "DefinitionIssue",
    "DeliveryFailed",
    "DiffEntry",
    "Engine",
    "FrozenClock",
    "GuardContext",
    "GuardFailed",
    "IdempotencyKeyReused",
    "InputTooLarge",
    "InvalidInput",
    "MigrationRefused",
    "MissingExtra",
    "NotASimulation",
    "NotFound",
    "PermissionDenied",
    "Registry",
    "ReservedIdentity",
    "SchemaOutOfDate",
    "StartRequest",
    "SystemClock",
    "TimeRunsBackwards",
    "TransitionNotAllowed",
    "UnknownTrigger",
    "UnreadableRecord",
    "VerificationReport",
    "WorkflowError",
    "__version__",
    "default_registry",
    "definition_json_schema",
    "diff_definitions",
    "load_functions",
    "parse_instant",
    "parse_json",
    "parse_span",
    "read_limited",
    "read_text",
    "require_aware",
    "retry_on_conflict",
    "validate_definition",
]
__all__ += _records.__all__


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
