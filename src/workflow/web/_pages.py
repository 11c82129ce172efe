"""What each page shows, read through the public library API and filtered for the viewer.

One function per page returns a frozen record the template renders; nothing here knows HTTP.
Every instance shown has passed ``viewer.sees`` (the library's visibility rule): an instance the
viewer may not see is answered like a missing one, so its existence does not leak.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from markupsafe import Markup

from workflow import AuditEvent, Definition, Engine, Instance, InvalidInput, NotFound
from workflow.auditing import path_of, state_at
from workflow.directives import (
    DirectiveRecord,
    DirectiveReport,
    ItemStatus,
    directive_report,
    get_directive,
    list_directives,
    list_units,
)

from ._access import (
    SYSTEM_ROLE,
    Action,
    Viewer,
    actions,
    oversees,
    state_label,
    workflow_label,
)
from ._chart import progress_chart
from ._diagram import render_svg

INBOX_LIMIT = 200
"""Items listed per (workflow, state) an inbox reads; the page says when there are more."""
DASHBOARD_PAGE = 200
"""Rows of a dashboard shown at once (counts and the chart cover every row)."""
STATUS_ORDER = {"overdue": 0, "open": 1, "done_late": 2, "done": 3}


class Labels:
    """Definitions by (workflow, version), read once per request, and their labels."""

    def __init__(self, engine: Engine, lang: str) -> None:
        self.engine = engine
        self.lang = lang
        self._definitions: dict[tuple[str, int], Definition] = {}

    def definition(self, workflow: str, version: int) -> Definition:
        key = (workflow, version)
        if key not in self._definitions:
            self._definitions[key] = self.engine.definition(workflow, version)
        return self._definitions[key]

    def of(self, instance: Instance) -> Definition:
        return self.definition(instance.workflow, instance.definition_version)

    def state(self, instance: Instance, state: str | None = None) -> str:
        return state_label(self.of(instance), state or instance.state, self.lang)

    def workflow(self, instance: Instance) -> str:
        return workflow_label(self.of(instance), self.lang)


def unit_names(engine: Engine, lang: str) -> dict[str, str]:
    return {u.code: (u.name_en if lang == "en" else u.name_vi) for u in list_units(engine)}


# --- inbox ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxRow:
    instance: Instance
    workflow: str
    state: str
    unit: str
    due_at: datetime | None
    overdue: bool
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class InboxPage:
    rows: tuple[InboxRow, ...]
    truncated: bool
    now: datetime


def _acting_states(viewer: Viewer, definition: Definition) -> dict[str, bool]:
    """The states of ``definition`` where a transition admits the viewer's roles, each with
    whether every such transition is limited to the instance's own unit."""
    roles = viewer.actor.roles - {SYSTEM_ROLE}
    found: dict[str, bool] = {}
    for spec in definition.transitions:
        if roles.isdisjoint(spec.roles):
            continue
        for source in spec.sources:
            found[source] = found.get(source, True) and spec.unit_scope == "own"
    return found


def inbox(engine: Engine, viewer: Viewer, lang: str) -> InboxPage:
    """The live items the viewer may act on now, due soonest first (no deadline last)."""
    now = engine.now()
    labels = Labels(engine, lang)
    names = unit_names(engine, lang)
    wanted: dict[tuple[str, str], bool] = {}
    if viewer.may_act:
        for deployed in engine.deployed():
            if deployed.live_instances == 0 and deployed.retired:
                continue
            definition = labels.definition(deployed.workflow, deployed.version)
            for state, own_only in _acting_states(viewer, definition).items():
                key = (deployed.workflow, state)
                wanted[key] = wanted.get(key, True) and own_only
    rows: list[InboxRow] = []
    truncated = False
    deadlines = _Deadlines(engine)
    for (workflow, state), own_only in sorted(wanted.items()):
        if own_only and viewer.actor.unit is None:
            continue
        found = engine.instances(
            workflow=workflow,
            state=state,
            active=True,
            unit=viewer.actor.unit if own_only else None,
            limit=INBOX_LIMIT + 1,
        )
        truncated = truncated or len(found) > INBOX_LIMIT
        for instance in found[:INBOX_LIMIT]:
            if not viewer.sees(instance):
                continue
            can = actions(engine, viewer, instance, lang)
            if not can:
                continue
            due = deadlines.of(instance)
            rows.append(
                InboxRow(
                    instance,
                    labels.workflow(instance),
                    labels.state(instance),
                    names.get(instance.unit or "", instance.unit or ""),
                    due,
                    due is not None and due < now,
                    tuple(can),
                )
            )
    rows.sort(key=lambda r: (r.due_at is None, r.due_at or now, r.instance.id))
    return InboxPage(tuple(rows), truncated, now)


class _Deadlines:
    """An instance's deadline: its own, else its chain's (a signing or archiving instance
    carries the deadline of the plan that started its chain)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.known: dict[int, datetime | None] = {}

    def of(self, instance: Instance) -> datetime | None:
        if instance.due_at is not None or instance.parent_id is None:
            return instance.due_at
        if instance.parent_id not in self.known:
            self.known[instance.parent_id] = self.of(self.engine.get(instance.parent_id))
        return self.known[instance.parent_id]


# --- directives and their dashboard --------------------------------------------------------------


@dataclass(frozen=True)
class DirectiveSummary:
    directive: DirectiveRecord
    overseen: bool


def directives(engine: Engine, viewer: Viewer) -> list[DirectiveSummary]:
    return [DirectiveSummary(d, oversees(viewer, d)) for d in list_directives(engine)]


@dataclass(frozen=True)
class DashboardPage:
    directive: DirectiveRecord
    report: DirectiveReport
    overseen: bool
    rows: tuple[ItemStatus, ...]
    """The rows that pass the filters, overdue first."""
    shown: tuple[ItemStatus, ...]
    counts: Mapping[str, int]
    """Rows per status among those the viewer may see (before the filters)."""
    items: tuple[str, ...]
    chart: Markup
    filters: Mapping[str, str]


def dashboard(
    engine: Engine,
    viewer: Viewer,
    number: str,
    lang: str,
    *,
    unit: str | None = None,
    item: str | None = None,
    status: str | None = None,
    page: int = 1,
    zone: tzinfo = UTC,
) -> DashboardPage:
    """Every unit's items of directive ``number`` the viewer may see: counts per status, overdue
    first (longest overdue first), progress over time; filtered by unit (its code, or a part of
    its name), item and status."""
    record = get_directive(engine, number)
    report = directive_report(engine, number)
    overseen = oversees(viewer, record)
    visible = (
        list(report.rows) if overseen else [r for r in report.rows if _sees_row(engine, viewer, r)]
    )
    counts = Counter(r.status for r in visible)
    wanted = None if unit is None else unit.casefold()
    chosen = [
        r
        for r in visible
        if (wanted is None or r.unit == unit or wanted in r.unit_name.casefold())
        and (item is None or r.item == item)
        and (status is None or r.status == status)
    ]
    chosen.sort(
        key=lambda r: (
            STATUS_ORDER.get(r.status, 9),
            -(r.overdue_by.total_seconds() if r.overdue_by else 0),
            r.unit or "",
            r.item,
        )
    )
    start = max(0, (page - 1) * DASHBOARD_PAGE)
    shown = tuple(chosen[start : start + DASHBOARD_PAGE])
    items = sorted({r.item for r in visible}, key=_item_order)
    filters = {k: v for k, v in (("unit", unit), ("item", item), ("status", status)) if v}
    return DashboardPage(
        directive=record,
        report=report,
        overseen=overseen,
        rows=tuple(chosen),
        shown=shown,
        counts=dict(counts),
        items=tuple(items),
        chart=progress_chart(visible, report.at, lang, zone),
        filters=filters,
    )


def _item_order(key: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


def _sees_row(engine: Engine, viewer: Viewer, row: ItemStatus) -> bool:
    if viewer.actor.unit is not None and row.unit == viewer.actor.unit:
        return True
    return viewer.sees(engine.get(row.current_id))


# --- the item page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    event: AuditEvent
    workflow: str
    from_state: str | None
    to_state: str
    who: str


@dataclass(frozen=True)
class StageAt:
    """One instance of the chain as it stood at the chosen moment (None: not started yet)."""

    instance: Instance
    workflow: str
    state: str | None
    data: Mapping[str, Any] | None


@dataclass(frozen=True)
class ItemPage:
    instance: Instance
    """The instance asked for."""
    chain: tuple[Instance, ...]
    """Its item's instances the viewer may see, oldest first (plan → signing → archiving)."""
    current: Instance
    timeline: tuple[TimelineEntry, ...]
    diagram: Markup
    actions: tuple[Action, ...]
    unit: str
    due_at: datetime | None
    at_step: int
    """How many timeline entries the "state at" view includes (all of them by default)."""
    at: tuple[StageAt, ...]
    current_label: str
    workflow_label: str


def visible_instance(engine: Engine, viewer: Viewer, instance_id: int) -> Instance:
    """The instance, or :class:`~workflow.NotFound` when it is missing or hidden from viewer."""
    instance = engine.get(instance_id)
    if not viewer.sees(instance):
        raise NotFound("instance", instance_id)
    return instance


def chain_of(engine: Engine, viewer: Viewer, instance: Instance) -> list[Instance]:
    """The instances of ``instance``'s item (its chain from the root), those viewer may see."""
    root = instance
    while root.parent_id is not None:
        root = engine.get(root.parent_id)
    if root.directive_id is None:
        family = [root, *_descendants_without_directive(engine, root, instance)]
    else:
        family = [
            i
            for i in engine.instances(directive_id=root.directive_id, unit=root.unit, limit=10_000)
            if i.item_key == root.item_key
        ]
    members = _members(root, family)
    return [i for i in members if i.id == instance.id or viewer.sees(i)]


def _descendants_without_directive(
    engine: Engine, root: Instance, instance: Instance
) -> list[Instance]:
    # without a directive the engine has no index to find children by; the path up is known
    found = [instance] if instance.id != root.id else []
    parent = instance.parent_id
    while parent is not None and parent != root.id:
        up = engine.get(parent)
        found.append(up)
        parent = up.parent_id
    return found


def _members(root: Instance, family: Iterable[Instance]) -> list[Instance]:
    by_parent: dict[int, list[Instance]] = {}
    for member in family:
        if member.parent_id is not None:
            by_parent.setdefault(member.parent_id, []).append(member)
    ordered, frontier = [root], [root]
    while frontier:
        node = frontier.pop(0)
        for child in sorted(by_parent.get(node.id, ()), key=lambda i: i.id):
            ordered.append(child)
            frontier.append(child)
    return ordered


def item_page(
    engine: Engine,
    viewer: Viewer,
    instance_id: int,
    lang: str,
    *,
    at_step: int | None = None,
    at: datetime | None = None,
) -> ItemPage:
    """The item of ``instance_id``: its chain's events as one timeline, the current instance's
    diagram with its state and path, the actions the viewer may take, and the state of every
    instance of the chain after the first ``at_step`` events of the timeline, or at the moment
    ``at`` (:func:`workflow.auditing.state_at`, the replay of ``workflow history --at``)."""
    instance = visible_instance(engine, viewer, instance_id)
    chain = chain_of(engine, viewer, instance)
    labels = Labels(engine, lang)
    names = {a.id: a.name for a in engine.actors() if a.name}
    histories = {member.id: engine.history(member.id) for member in chain}
    timeline = sorted(
        (
            TimelineEntry(
                event,
                labels.workflow(member),
                labels.state(member, event.from_state) if event.from_state else None,
                labels.state(member, event.to_state),
                names.get(event.actor, ""),
            )
            for member in chain
            for event in histories[member.id]
        ),
        key=lambda e: (e.event.occurred_at, e.event.instance_id, e.event.seq),
    )
    current = next((m for m in reversed(chain) if m.active), chain[-1])
    step = len(timeline) if at_step is None else max(1, min(at_step, len(timeline)))
    if at is not None:
        step = max(1, sum(e.event.occurred_at <= at for e in timeline))
        stages = _stages_on(engine, chain, at, labels)
    else:
        stages = _stages_at(chain, histories, timeline, step, labels)
    return ItemPage(
        instance=instance,
        chain=tuple(chain),
        current=current,
        timeline=tuple(timeline),
        diagram=render_svg(
            labels.of(current), path_of(histories[current.id]), lang=lang, ident=f"i{current.id}"
        ),
        actions=tuple(actions(engine, viewer, current, lang)),
        unit=unit_names(engine, lang).get(instance.unit or "", instance.unit or ""),
        due_at=_Deadlines(engine).of(instance),
        at_step=step,
        at=tuple(stages),
        current_label=labels.state(current),
        workflow_label=labels.workflow(current),
    )


def _stages_at(
    chain: Sequence[Instance],
    histories: Mapping[int, Sequence[AuditEvent]],
    timeline: Sequence[TimelineEntry],
    step: int,
    labels: Labels,
) -> list[StageAt]:
    """Each instance's state and data after the first ``step`` timeline entries: the replay of
    :func:`workflow.auditing.state_at`, done on the histories already read."""
    if not timeline:
        return []
    last = timeline[step - 1].event
    moment = (last.occurred_at, last.instance_id, last.seq)
    stages = []
    for member in chain:
        keys = [(e.occurred_at, e.instance_id, e.seq) for e in histories[member.id]]
        count = bisect_right(keys, moment)
        if count == 0:
            stages.append(StageAt(member, labels.workflow(member), None, None))
            continue
        event = histories[member.id][count - 1]
        stages.append(
            StageAt(
                member, labels.workflow(member), labels.state(member, event.to_state), event.data
            )
        )
    return stages


def _stages_on(
    engine: Engine, chain: Sequence[Instance], at: datetime, labels: Labels
) -> list[StageAt]:
    stages = []
    for member in chain:
        try:
            snapshot = state_at(engine, member.id, at)
        except InvalidInput:  # not started yet at that moment
            stages.append(StageAt(member, labels.workflow(member), None, None))
            continue
        stages.append(
            StageAt(
                member, labels.workflow(member), labels.state(member, snapshot.state), snapshot.data
            )
        )
    return stages


def snapshot_moment(page: ItemPage) -> datetime | None:
    return page.timeline[page.at_step - 1].event.occurred_at if page.timeline else None
