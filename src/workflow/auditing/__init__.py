"""Auditing: reading, exporting, proving and drawing what happened to instances.

Built on the hash chain of :mod:`workflow.hashchain` and the engine's read transactions, these
modules answer the auditor's questions: who did what and when (:mod:`~workflow.auditing.reads`:
filtered searches, the state of an instance at an instant), the log as portable CSV/JSON Lines
files that can be checked away from the database (:mod:`~workflow.auditing.export`), signed
checkpoints that pin the chain heads (:mod:`~workflow.auditing.checkpoints`), verification of a
whole log against them (:mod:`~workflow.auditing.verify`), and diagrams of a definition with the
path an instance took through it (:mod:`~workflow.auditing.graphs`). Nothing here writes audit
rows: only the engine's fire transaction does.
"""

from __future__ import annotations

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
from workflow.auditing.export import write_xlsx as write_audit_xlsx
from workflow.auditing.graphs import (
    GRAPH_FORMATS,
    Highlight,
    path_of,
    render_graph,
    taken_path,
)
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
from workflow.auditing.verify import (
    LogVerification,
    verify_database,
    verify_log,
)
from workflow.hashchain.keys import AuditKeys

__all__ = [
    "ADMIN_EXPORT_FIELDS",
    "EXPORT_FIELDS",
    "GRAPH_FORMATS",
    "AdminEvent",
    "AdminLogVerification",
    "AuditFilter",
    "AuditKeys",
    "Checkpoint",
    "CheckpointSignatureError",
    "ExportFile",
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
]
