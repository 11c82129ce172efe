"""The pages of the people who act: the inbox, the directives, a directive's dashboard and
report, an item with its timeline and its state at a past moment, and firing an action.

Each handler parses the request, asks :mod:`._pages` for the page's data as the viewer (an
instance the viewer may not see is a missing one) and renders its template; a fire is offered
only among the viewer's :func:`~._access.actions`, and an auditor fires nothing. Separate from
the auditors' pages (:mod:`._auditors`), which read everything and change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.responses import RedirectResponse, Response

from workflow import NotFound, WorkflowError, parse_instant
from workflow.directives import (
    directive_report,
    get_directive,
    render_csv,
    render_markdown,
    report_json,
)
from workflow.service import status_for

from . import _pages
from ._access import actions, oversees
from ._console import DOWNLOAD_TYPES, Call, Console, Refusal, as_int, is_partial, viewer_of
from ._forms import payload_from_form
from ._text import translator


def home(console: Console, call: Call) -> Response:
    viewer = viewer_of(call)
    if not viewer.may_act:
        return console.finish(call, RedirectResponse("/directives", 303))
    data = _pages.inbox(console.engine, viewer, call.lang)
    return console.render(call, "inbox.html", data=data, page="inbox")


def directives(console: Console, call: Call) -> Response:
    data = _pages.directives(console.engine, viewer_of(call))
    return console.render(call, "directives.html", data=data, page="directives")


def dashboard(console: Console, call: Call) -> Response:
    params = call.request.query_params
    number = call.request.path_params["number"]
    data = _pages.dashboard(
        console.engine,
        viewer_of(call),
        number,
        call.lang,
        zone=console.zone,
        unit=params.get("unit") or None,
        item=params.get("item") or None,
        status=params.get("status") or None,
        page=as_int(params.get("page"), 1),
    )
    return console.render(call, "dashboard.html", data=data, page="directives")


def report_download(console: Console, call: Call) -> Response:
    viewer = viewer_of(call)
    number = call.request.path_params["number"]
    fmt = call.request.path_params["fmt"]
    if fmt not in ("csv", "json", "md"):
        raise NotFound("report format", fmt)
    directive = get_directive(console.engine, number)
    if not oversees(viewer, directive):
        _ = translator(call.lang)
        raise Refusal(403, _("Only the directive's overseers export its report."))
    report = directive_report(console.engine, number)
    if fmt == "csv":
        body = render_csv(report)
    elif fmt == "json":
        body = json.dumps(report_json(report), ensure_ascii=False, indent=1)
    else:
        body = render_markdown(report)
    name = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in number)
    response = Response(body, media_type=DOWNLOAD_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return console.finish(call, response)


def item(console: Console, call: Call) -> Response:
    return _item(console, call, full=True)


def item_at(console: Console, call: Call) -> Response:
    return _item(console, call, full=not is_partial(call))


def _item(
    console: Console,
    call: Call,
    *,
    full: bool,
    status: int = 200,
    flashes: list[tuple[str, str]] | None = None,
    values: Mapping[str, str] | None = None,
    open_action: str | None = None,
) -> Response:
    params = call.request.query_params
    instance_id = _row_id(call.request.path_params["instance_id"])
    flashes = list(flashes or [])
    if params.get("done"):
        _ = translator(call.lang)
        flashes.append(("ok", _("Done: {action}.").format(action=params["done"][:200])))
    at = None
    if params.get("at"):
        at = _local_instant(params["at"], console.zone)
    data = _pages.item_page(
        console.engine,
        viewer_of(call),
        instance_id,
        call.lang,
        at_step=as_int(params.get("step"), 0) or None,
        at=at,
    )
    moment = _pages.snapshot_moment(data) if at is None else at
    at_value = moment.astimezone(console.zone).strftime("%Y-%m-%dT%H:%M") if moment else ""
    template = "item.html" if full else "_at.html"
    return console.render(
        call,
        template,
        status,
        data=data,
        at_moment=moment,
        at_value=at_value,
        flashes=flashes,
        values=values,
        open_action=open_action or params.get("action"),
    )


def fire(console: Console, call: Call, form: Mapping[str, str]) -> Response:
    viewer = viewer_of(call)
    _ = translator(call.lang)
    instance_id = _row_id(call.request.path_params["instance_id"])
    instance = _pages.visible_instance(console.engine, viewer, instance_id)
    if viewer.auditor:
        raise Refusal(403, _("Auditors read every page and fire nothing."))
    trigger = form.get("trigger", "")
    action = next(
        (a for a in actions(console.engine, viewer, instance, call.lang) if a.trigger == trigger),
        None,
    )
    if action is None:
        raise Refusal(403, _("You may not do this on this item now."))
    try:
        payload = payload_from_form(action, form, console.zone, _)
        console.engine.fire(
            instance.id,
            trigger,
            viewer.actor,
            payload=payload,
            reason=form.get("reason") or None,
            expected_version=as_int(form.get("expected_version"), instance.version),
            channel="web",
        )
    except WorkflowError as exc:
        status = status_for(exc)
        if status >= 500:
            raise
        return _item(
            console,
            call,
            full=True,
            status=status,
            flashes=[("error", _("Refused") + f": {exc}")],
            values=form,
            open_action=trigger,
        )
    done = quote(action.label)
    return console.finish(call, RedirectResponse(f"/instances/{instance.id}?done={done}", 303))


def _row_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFound("instance", text)
    return int(text)


def _local_instant(text: str, zone: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return parse_instant(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return parse_instant(moment.isoformat())
