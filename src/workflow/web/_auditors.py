"""The auditors' and administrators' pages: the audit page, verification runs, the log's
downloads, and the definitions with their versions and differences.

Each handler first asks :func:`_auditing` (the viewer reads everything, else 403), then reads
through :mod:`._records`. Separate from the pages of the people who act (:mod:`._work`): these
read every chain and fire nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from starlette.responses import RedirectResponse, Response, StreamingResponse

from workflow import NotFound

from . import _records
from ._access import Viewer
from ._console import DOWNLOAD_TYPES, Call, Console, Refusal, as_int, is_partial, viewer_of
from ._text import translator


def audit(console: Console, call: Call) -> Response:
    _auditing(call)
    job = None
    if call.request.query_params.get("job"):
        job = console.jobs.get(call.request.query_params["job"])
    return console.render(
        call,
        "audit.html",
        page="audit",
        job=job,
        problems=_problems(console, job, call.lang),
        signed=console.engine.audit_keys is not None,
        admin_events=_records.recent_admin_events(console.engine),
        recent=_records.recent_events(console.engine),
    )


def verify_start(console: Console, call: Call, form: Mapping[str, str]) -> Response:
    viewer = _auditing(call)
    job = console.jobs.start(console.engine, viewer.account)
    if is_partial(call):
        return console.render(call, "_verify.html", job=job, problems=[])
    return console.finish(call, RedirectResponse(f"/audit?job={job.id}", 303))


def verify_poll(console: Console, call: Call) -> Response:
    _auditing(call)
    job = console.jobs.get(call.request.path_params["job"])
    problems = _problems(console, job, call.lang)
    return console.render(call, "_verify.html", job=job, problems=problems)


def _problems(
    console: Console, job: _records.VerifyJob | None, lang: str
) -> list[_records.NamedProblem]:
    if job is None or job.report is None:
        return []
    return _records.named_problems(console.engine, job.report, lang)


def download(console: Console, call: Call) -> Response:
    _auditing(call)
    what = call.request.path_params["what"]
    stamp = console.engine.now().strftime("%Y%m%dT%H%M%SZ")
    streams: dict[str, Callable[[], Iterator[bytes]]] = {
        "checkpoint.json": lambda: _records.checkpoint_stream(console.engine),
        "export.jsonl": lambda: _records.export_stream(console.engine, "jsonl"),
        "export.csv": lambda: _records.export_stream(console.engine, "csv"),
    }
    if what not in streams:
        raise NotFound("download", what)
    stem, ext = what.split(".")
    response = StreamingResponse(streams[what](), media_type=DOWNLOAD_TYPES[ext])
    response.headers["Content-Disposition"] = (
        f'attachment; filename="audit-{stem}-{stamp}.{ext}"'
    )
    return console.finish(call, response)


def definitions(console: Console, call: Call) -> Response:
    _auditing(call)
    return console.render(
        call,
        "definitions.html",
        page="definitions",
        data=_records.definitions(console.engine, call.lang),
    )


def definition(console: Console, call: Call) -> Response:
    _auditing(call)
    params = call.request.query_params
    data = _records.definition_page(
        console.engine,
        call.request.path_params["name"],
        call.lang,
        version=as_int(params.get("version"), 0) or None,
        against=as_int(params.get("against"), 0) or None,
    )
    return console.render(call, "definition.html", page="definitions", data=data)


def _auditing(call: Call) -> Viewer:
    viewer = viewer_of(call)
    if not viewer.reads_everything:
        _ = translator(call.lang)
        raise Refusal(403, _("This page is for auditors and administrators."))
    return viewer
