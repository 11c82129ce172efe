"""The JSON API (``/api/v1``): parse, authorize through the library, call, render.

Every read is limited to what the caller may see (the library's rule, ``workflow.accounts.Sight``,
the one the web console asks too: an instance it may not see is a 404, as if it did not exist);
every start and fire acts as the caller's registered actor through the ``api`` channel, which
the audit event records.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter, ValidationError

from workflow import (
    AuditEvent,
    ConcurrentModification,
    DeployedDefinition,
    FireResult,
    Instance,
    NotFound,
    PermissionDenied,
    WorkflowError,
    parse_instant,
)
from workflow.accounts import (
    NotAuthenticated,
    Principal,
    Sight,
    can_see,
    count_visible,
    visible_instances,
)
from workflow.auditing import (
    GRAPH_FORMATS,
    admin_log_records,
    audit_rows,
    export_header,
    render_graph,
    state_at,
    verify_database,
    write_audit_csv,
    write_audit_jsonl,
)
from workflow.directives import directive_report, report_json
from workflow.i18n import _
from workflow.service._app import (
    Caller,
    JsonRoute,
    Sent,
    context_of,
    json_object,
    read_credentials,
    reads_itself,
)
from workflow.service._errors import BadRequest, Forbidden, StaleVersion
from workflow.service._models import (
    ErrorOut,
    FireBody,
    FireOut,
    GraphOut,
    InstancePage,
    MeOut,
    ProblemOut,
    SnapshotOut,
    StartBody,
    TriggersOut,
    VerifyOut,
)
from workflow.service._streams import stream_writer

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": what}
    for status, what in (
        (400, "The request cannot be read (not JSON, a malformed header or query)."),
        (401, "No valid credentials."),
        (403, "The caller's roles or unit do not allow it."),
        (404, "No such thing, or none the caller may see."),
        (409, "Refused by the rules: not allowed from this state, a guard, a conflict."),
        (412, "If-Match names a version the instance is no longer at."),
        (413, "The body is larger than the limit."),
        (415, "The body is not application/json."),
        (422, "A value is refused."),
        (429, "Too many failed logins: wait Retry-After seconds."),
    )
}

router = APIRouter(prefix="/api/v1", route_class=JsonRoute, responses=_ERRORS)

T = TypeVar("T")

_EXPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _visible(request: Request, principal: Principal, instance_id: int) -> Instance:
    """The instance, if the caller may see it; otherwise NotFound, as if there were none."""
    engine = context_of(request).engine
    instance = engine.get(instance_id)
    if not can_see(engine, principal.actor, instance):
        raise NotFound("instance", instance_id)
    return instance


def _etag(instance: Instance) -> str:
    return f'"{instance.version}"'


def _expected_version(if_match: str | None) -> int | None:
    """``If-Match: "7"`` → 7 (a weak tag or a bare number too); ``*`` or none → None."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 18:
        raise BadRequest(_('If-Match must be an instance version as its ETag gives it ("7")'))
    return int(tag)


@router.get("/me", response_model=MeOut, summary="Who the credentials authenticate")
def me(principal: Caller) -> MeOut:
    return MeOut.of(principal)


@router.get("/instances", response_model=InstancePage, summary="Instances the caller may see")
def list_instances(
    request: Request,
    principal: Caller,
    workflow: str | None = None,
    state: str | None = None,
    unit: str | None = None,
    directive_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> InstancePage:
    engine = context_of(request).engine
    filters: dict[str, Any] = {
        "workflow": workflow, "state": state, "unit": unit, "directive_id": directive_id,
        "active": active,
    }  # fmt: skip
    items = visible_instances(engine, principal.actor, **filters, limit=limit, before_id=before_id)
    total = count_visible(engine, principal.actor, **filters)
    following = items[-1].id if len(items) == limit else None
    return InstancePage(
        items=list(items), total=total, next_before_id=following
    )


@router.get("/instances/{instance_id}", response_model=Instance, summary="One instance")
def get_instance(
    request: Request,
    response: Response,
    principal: Caller,
    instance_id: int,
) -> Instance:
    """The instance; its ``ETag`` is its version, to send back as ``If-Match`` when firing."""
    instance = _visible(request, principal, instance_id)
    response.headers["ETag"] = _etag(instance)
    return instance


@router.post("/instances", response_model=FireOut, status_code=201, summary="Start an instance")
def start_instance(
    request: Request, response: Response, principal: Caller, body: StartBody
) -> FireOut:
    """Starts the newest startable version of ``workflow`` as the caller. The instance's unit
    is the caller's own unless the caller is an auditor (an auditor may place it anywhere)."""
    actor = principal.actor
    unit = body.unit if body.unit is not None else actor.unit
    if unit != actor.unit and not principal.auditor:
        raise PermissionDenied(
            actor.id,
            _("start {workflow} in unit {unit}", workflow=body.workflow, unit=unit),
            _("the unit is not its own"),
        )
    result = context_of(request).engine.start(
        body.workflow,
        actor,
        data=body.data,
        unit=unit,
        coordinating_units=body.coordinating_units,
        idempotency_key=body.idempotency_key,
        channel=principal.channel,
    )
    response.headers["ETag"] = _etag(result.instance)
    response.headers["Location"] = f"/api/v1/instances/{result.instance.id}"
    return FireOut(
        instance=result.instance,
        event=result.event,
        replayed=result.replayed,
    )


async def _fire_request(request: Request) -> Response:
    """The fire's request read by hand, in FastAPI's order and answers (a body that is no JSON
    object 415/400, no credentials 401, then every refused value at once, 422), then
    :func:`fire` in a fire thread: in process, FastAPI's route search, dependency solving and
    validation took 150-170 µs of CPU per request, this route 41-59 µs all told
    (docs/performance.md, "The API's fire")."""
    body = await json_object(request)
    sent = read_credentials(request)
    errors: list[dict[str, Any]] = []
    instance_id = _valid(_INSTANCE_ID, request.path_params["instance_id"], "path", errors)
    parsed = _valid(_FIRE_BODY, body, "body", errors)
    if errors:
        raise RequestValidationError(errors, body=body)
    if_match = request.headers.get("if-match")
    return await context_of(request).in_worker(
        partial(fire, request, sent, instance_id, parsed, if_match)
    )


_INSTANCE_ID = TypeAdapter(int)
_FIRE_BODY = TypeAdapter(FireBody)


def _valid(adapter: TypeAdapter[T], value: Any, where: str, errors: list[dict[str, Any]]) -> T:
    """``value`` read by ``adapter``; its refusals added to ``errors`` (located as FastAPI
    locates them: ``path``, ``body``)."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        name = ("instance_id",) if where == "path" else ()
        errors += [{**e, "loc": (where, *name, *e["loc"])} for e in exc.errors()]
        return None  # type: ignore[return-value]  # never used: the caller raises


def install_fire(app: FastAPI) -> None:
    """The fire's route, added to ``app`` itself before any router is included, so that it is
    the first route tried: FastAPI finds a route of an included router by searching that
    router's routes twice a request (to match, then to handle)."""
    app.router.add_api_route(
        f"{router.prefix}/instances/{{instance_id}}/fire",
        fire,
        methods=["POST"],
        route_class_override=JsonRoute,
        response_model=FireOut,
        responses=_ERRORS,
        summary="Fire a trigger",
    )


@reads_itself(_fire_request)
def fire(
    request: Request,
    sent: Sent,
    instance_id: int,
    body: FireBody,
    if_match: Annotated[
        str | None, Header(description='The ETag last seen ("7"): 412 if it moved since.')
    ] = None,
) -> Response:
    """One transaction reads the token and fires (an account's password is checked before it
    opens), run once more on a new connection if its connection is found dead before it
    commits (the service's pool does not ping: ``Engine.retry_if_lost``). Visibility is asked
    only when the fire is refused or replayed: a fire the engine accepts is one its actor may
    act on, which the rule counts as seeing (docs/service.md); a refusal on an instance the
    caller may not see is a 404, whatever the refusal said."""
    expected = _expected_version(if_match)
    context = context_of(request)
    engine = context.engine
    known = None if sent.token is not None else sent.principal(context)
    principal = known

    def authenticated_fire() -> FireResult:
        nonlocal principal
        with engine.begin(savepoints=False) as conn:  # it commits whole or not at all
            principal = known or sent.principal(context, within=conn)
            return engine.fire(
                instance_id,
                body.trigger,
                principal.actor,
                payload=body.payload,
                reason=body.reason,
                expected_version=expected,
                idempotency_key=body.idempotency_key,
                channel=principal.channel,
                within=conn,
            )

    try:
        result = engine.retry_if_lost(authenticated_fire)
    except WorkflowError as refused:
        if principal is None or isinstance(refused, NotAuthenticated):
            raise
        _visible(request, principal, instance_id)
        if isinstance(refused, ConcurrentModification) and expected is not None:
            raise StaleVersion(instance_id, expected, refused.actual) from refused
        raise
    assert principal is not None  # read in the transaction that fired
    if result.replayed and not can_see(engine, principal.actor, result.instance):
        raise NotFound("instance", instance_id)
    out = FireOut(
        instance=result.instance,
        event=result.event,
        replayed=result.replayed,
    )
    # the model is built and checked here: FastAPI's second validation of it is skipped
    return Response(
        out.model_dump_json(),
        media_type="application/json",
        headers={"ETag": _etag(result.instance)},
    )


@router.get(
    "/instances/{instance_id}/history",
    response_model=list[AuditEvent] | SnapshotOut,
    summary="Every audit event of an instance, or its state at an instant",
)
def history(
    request: Request,
    principal: Caller,
    instance_id: int,
    at: Annotated[
        str | None, Query(description="An ISO-8601 instant with its offset: the state then.")
    ] = None,
) -> list[AuditEvent] | SnapshotOut:
    _visible(request, principal, instance_id)
    engine = context_of(request).engine
    if at is not None:
        snapshot = state_at(engine, instance_id, parse_instant(at))
        return SnapshotOut(
            instance_id=snapshot.instance_id,
            at=snapshot.at,
            state=snapshot.state,
            data=dict(snapshot.data),
            version=snapshot.version,
        )
    return engine.history(instance_id)


@router.get(
    "/instances/{instance_id}/triggers",
    response_model=TriggersOut,
    summary="Which triggers the caller may fire now, and why not the others",
)
def triggers(
    request: Request, response: Response, principal: Caller, instance_id: int
) -> TriggersOut:
    """Every trigger of the instance's definition, allowed for the caller now or closed by the
    state, a role, the unit or a guard (with the missing fields)."""
    _visible(request, principal, instance_id)
    menu = context_of(request).engine.available_triggers(instance_id, principal.actor)
    response.headers["ETag"] = _etag(menu.instance)
    return TriggersOut.of(menu)


# --- definitions ------------------------------------------------------------------------------


@router.get(
    "/definitions", response_model=list[DeployedDefinition], summary="Deployed definitions"
)
def definitions(request: Request, principal: Caller) -> list[DeployedDefinition]:
    del principal  # any authenticated caller may read the rules (and who deployed them)
    return context_of(request).engine.deployed()


@router.get("/definitions/{workflow}", summary="One deployed definition")
def definition(
    request: Request,
    principal: Caller,
    workflow: str,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    del principal
    d = context_of(request).engine.definition(workflow, version)
    return {
        "workflow": d.name,
        "labels": {"vi": d.labels.vi, "en": d.labels.en},
        "states": [{"name": s.name, "initial": s.initial, "final": s.final} for s in d.states],
        "transitions": [
            {"trigger": t.trigger, "sources": list(t.sources), "dest": t.dest,
             "roles": list(t.roles)}
            for t in d.transitions
        ],
    }  # fmt: skip


@router.get("/definitions/{workflow}/graph", response_model=GraphOut, summary="Its diagram")
def definition_graph(
    request: Request,
    principal: Caller,
    workflow: str,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    format: Literal["mermaid", "dot"] = "mermaid",
) -> GraphOut:
    del principal
    assert format in GRAPH_FORMATS
    engine = context_of(request).engine
    d = engine.definition(workflow, version)
    shown = version or max(x.version for x in engine.deployed(workflow))
    return GraphOut(workflow=d.name, version=shown, format=format, diagram=render_graph(d, format))


# --- directives and the audit log -------------------------------------------------------------


@router.get("/directives/{number:path}/report", summary="Where every item of a directive stands")
def directive(
    request: Request,
    principal: Caller,
    number: str,
    at: Annotated[str | None, Query(description="An ISO-8601 instant (default: now).")] = None,
) -> dict[str, Any]:
    """The whole report for those who oversee the directive (its auditors, administrators, and
    the units leading or coordinating an item that names a lead); another caller sees the items
    it may see (its own unit's, those it may act on) and its own unit's summary."""
    moment = parse_instant(at) if at is not None else None
    engine = context_of(request).engine
    report = directive_report(engine, number, at=moment)
    document = report_json(report)
    sight = Sight(engine, principal.actor)
    if not sight.oversees(report.directive.id):
        unit = principal.actor.unit
        seen = {
            row.current_id
            for row in report.rows
            if (unit is not None and row.unit == unit) or sight(engine.get(row.current_id))
        }
        document["items"] = [i for i in document["items"] if i["current_id"] in seen]
        document["units"] = [u for u in document["units"] if u.get("unit") == unit]
        document["totals"] = None
    return document


def _auditor(principal: Principal, action: str) -> None:
    if not principal.auditor:
        raise Forbidden(principal.actor.id, action, _("needs the role 'auditor'"))


@router.get("/audit/verify", response_model=VerifyOut, summary="Verify the whole audit log")
def audit_verify(request: Request, principal: Caller) -> VerifyOut:
    _auditor(principal, _("verify the audit log"))
    report = verify_database(context_of(request).engine)
    return VerifyOut(
        ok=report.ok,
        chains=report.chains,
        events=report.events,
        admin_events=report.admin_events,
        keyed_events=report.keyed_events,
        unkeyed_events=report.unkeyed_events,
        problems=[
            ProblemOut(instance_id=p.instance_id, seq=p.seq, problem=p.problem)
            for p in report.problems
        ],
    )


@router.get(
    "/audit/export",
    summary="The whole audit log, streamed (verifiable offline with `workflow audit verify`)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
def audit_export(
    request: Request,
    principal: Caller,
    format: Literal["jsonl", "csv"] = "jsonl",
    filename: Annotated[
        str | None, Query(description="The attachment's name: letters, digits, '.', '_', '-'.")
    ] = None,
) -> StreamingResponse:
    _auditor(principal, _("export the audit log"))
    name = filename or f"audit.{format}"
    if not _EXPORT_NAME.fullmatch(name) or ".." in name:
        raise BadRequest(_("filename: letters, digits, '.', '_' and '-' only, at most 100"))
    engine = context_of(request).engine

    def write(out: Any) -> None:
        rows = audit_rows(engine)
        if format == "csv":
            write_audit_csv(rows, out)
            return
        header = export_header({}, True, engine.now(), admin_log=True)
        write_audit_jsonl(rows, out, header, admin_log_records(engine))

    kind = "text/csv" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        stream_writer(write),
        media_type=f"{kind}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
