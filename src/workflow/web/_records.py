"""The auditors' and administrators' pages: verification runs, downloads, logs, definitions.

Verification reads every chain, which takes seconds on a large log, so a run is a job: started
by a form, run in a thread of this process with :meth:`workflow.Engine.verify`'s progress
callback, and polled by the page (``static/console.js``) until it reports its result in words.
Exports and checkpoints are written by the library's own writers into a spooled file and
streamed.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from tempfile import SpooledTemporaryFile
from typing import IO

from markupsafe import Markup

from workflow import (
    AuditEvent,
    ChainProblem,
    DefinitionDiff,
    DeployedDefinition,
    Engine,
    NotFound,
    VerificationReport,
    WorkflowError,
)
from workflow.admin import diff_versions
from workflow.auditing import (
    AdminEvent,
    AuditFilter,
    admin_log,
    admin_log_records,
    audit_rows,
    count_audit_rows,
    export_header,
    search_audit,
    take_checkpoint,
    write_audit_csv,
    write_audit_jsonl,
    write_checkpoint,
)

from ._access import workflow_label
from ._diagram import render_svg

SPOOL_BYTES = 8 * 1024 * 1024
ADMIN_LOG_ROWS = 200
RECENT_DAYS = 30
RECENT_EVENTS = 50
MAX_JOBS = 16
"""Verification jobs kept per process (the oldest finished ones are dropped first)."""


@dataclass
class VerifyJob:
    """One verification run: its progress while it runs, its report or error after."""

    id: str
    started_by: str
    started_at: datetime
    total: int
    read: int = 0
    report: VerificationReport | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def percent(self) -> int:
        if self.report is not None:
            return 100
        return min(99, int(100 * self.read / self.total)) if self.total else 0


class VerifyJobs:
    """The verification jobs of this process, by id (an unguessable token)."""

    def __init__(self) -> None:
        self._jobs: dict[str, VerifyJob] = {}
        self._lock = threading.Lock()

    def start(self, engine: Engine, by: str) -> VerifyJob:
        job = VerifyJob(secrets.token_urlsafe(16), by, engine.now(), count_audit_rows(engine))
        with self._lock:
            finished = [j for j in self._jobs.values() if j.done.is_set()]
            while len(self._jobs) >= MAX_JOBS and finished:
                self._jobs.pop(finished.pop(0).id)
            self._jobs[job.id] = job
        thread = threading.Thread(target=_run, args=(engine, job), daemon=True, name="verify")
        thread.start()
        return job

    def get(self, job_id: str) -> VerifyJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound("verification", job_id)
        return job


def _run(engine: Engine, job: VerifyJob) -> None:
    def progress(count: int) -> None:
        job.read = count

    try:
        job.report = engine.verify(progress=progress)
    except WorkflowError as exc:
        job.error = str(exc)
    finally:
        job.done.set()


@dataclass(frozen=True)
class NamedProblem:
    """A broken chain, named: which instance (its workflow and unit when it still exists)."""

    problem: ChainProblem
    instance_id: int | None
    what: str


def named_problems(engine: Engine, report: VerificationReport, lang: str) -> list[NamedProblem]:
    named = []
    for problem in report.problems:
        if problem.instance_id <= 0:
            named.append(NamedProblem(problem, None, ""))
            continue
        try:
            instance = engine.get(problem.instance_id)
        except WorkflowError:
            named.append(NamedProblem(problem, problem.instance_id, ""))
            continue
        label = workflow_label(
            engine.definition(instance.workflow, instance.definition_version), lang
        )
        what = f"{label} — {instance.unit or ''} {instance.item_key or ''}".strip(" —")
        named.append(NamedProblem(problem, instance.id, what))
    return named


def recent_admin_events(engine: Engine) -> list[AdminEvent]:
    return admin_log(engine, limit=ADMIN_LOG_ROWS)


def recent_events(engine: Engine) -> list[AuditEvent]:
    """The latest transitions of the last :data:`RECENT_DAYS` days, newest first."""
    since = engine.now() - timedelta(days=RECENT_DAYS)
    return list(deque(search_audit(engine, AuditFilter(since=since)), maxlen=RECENT_EVENTS))[::-1]


# --- downloads -----------------------------------------------------------------------------------


def _spooled(write: object) -> Iterator[bytes]:
    buffer: IO[str]
    with SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+", encoding="utf-8") as buffer:
        write(buffer)  # type: ignore[operator]
        buffer.seek(0)
        while chunk := buffer.read(64 * 1024):
            yield chunk.encode("utf-8")


def export_stream(engine: Engine, fmt: str) -> Iterator[bytes]:
    """The whole audit log as JSON Lines (with the administrators' log) or CSV."""
    flt = AuditFilter()

    def write(out: IO[str]) -> None:
        rows = audit_rows(engine, flt)
        if fmt == "csv":
            write_audit_csv(rows, out)
            return
        header = export_header(flt.as_dict(), flt.whole_chains, engine.now(), admin_log=True)
        write_audit_jsonl(rows, out, header, admin_log_records(engine))

    return _spooled(write)


def checkpoint_stream(engine: Engine) -> Iterator[bytes]:
    """A checkpoint of every chain head, signed when the host holds the audit key."""
    keys = engine.audit_keys
    key = None if keys is None else keys.signing_key

    def write(out: IO[str]) -> None:
        write_checkpoint(take_checkpoint(engine), out, key)

    return _spooled(write)


# --- definitions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowVersions:
    workflow: str
    label: str
    versions: tuple[DeployedDefinition, ...]


def definitions(engine: Engine, lang: str) -> list[WorkflowVersions]:
    by_name: dict[str, list[DeployedDefinition]] = {}
    for deployed in engine.deployed():
        by_name.setdefault(deployed.workflow, []).append(deployed)
    return [
        WorkflowVersions(
            name,
            workflow_label(engine.definition(name, max(v.version for v in versions)), lang),
            tuple(sorted(versions, key=lambda v: -v.version)),
        )
        for name, versions in sorted(by_name.items())
    ]


@dataclass(frozen=True)
class DefinitionPage:
    workflow: WorkflowVersions
    version: int
    diagram: Markup
    diff: DefinitionDiff | None
    source: str


def definition_page(
    engine: Engine, name: str, lang: str, *, version: int | None = None, against: int | None = None
) -> DefinitionPage:
    found = next((w for w in definitions(engine, lang) if w.workflow == name), None)
    if found is None:
        raise NotFound("workflow", name)
    chosen = version if version is not None else found.versions[0].version
    definition = engine.definition(name, chosen)
    diff = None if against is None else diff_versions(engine, name, against, chosen)
    return DefinitionPage(
        found,
        chosen,
        render_svg(definition, lang=lang, ident=f"w{chosen}"),
        diff,
        definition.source_text,
    )
