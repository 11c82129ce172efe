"""A plain reference model of the workflow the model check drives, written without the engine.

The definition is built from the Python tables below, rendered to YAML for the engine and read
directly by the model, which predicts each call's outcome (the new state and data, or the error
class) in a few lines of ordinary code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from workflow import (
    Actor,
    GuardFailed,
    InvalidInput,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownTrigger,
)

MAX_VERSION = 4
TIMERS = {"draft": ("expire", timedelta(hours=2)), "review": ("nudge", timedelta(hours=1))}
FINAL = {"approved", "rejected", "expired"}


@dataclass(frozen=True)
class Rule:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    units: str = "any"
    required: tuple[str, ...] = ()
    limit: int | None = None  # guard: amount <= limit
    merge: tuple[str, ...] = ()
    reason: bool = False
    below: float | None = None  # expr guard: has(data.amount) && amount <= below
    automatic: bool = False


def rules(version: int) -> list[Rule]:
    """The transitions of ``version``: the approval limit moves, v2+ adds ``escalate``; a small
    amount entering review is approved by the engine itself (``fast_track``, automatic)."""
    table = [
        Rule(
            "submit", ("draft",), "review", ("clerk",), "own", ("amount",), None, ("amount", "note")
        ),
        Rule("annotate", ("draft",), "draft", ("clerk", "auditor"), merge=("note",)),
        Rule("annotate", ("review",), "review", ("clerk", "auditor"), merge=("note",)),
        Rule("approve", ("review",), "approved", ("boss",), limit=100 * version),
        Rule("approve", ("review",), "review", ("boss", "auditor"), merge=("note",)),
        Rule("reject", ("review",), "rejected", ("boss", "auditor"), reason=True),
        Rule("recall", ("review",), "draft", ("clerk",), "own", merge=("amount",)),
        Rule("expire", ("draft",), "expired", ("system",)),
        Rule("nudge", ("review",), "review", ("system",)),
        # taken by the engine right after a step leaves a small amount in review
        Rule("fast_track", ("review",), "approved", ("system",), below=60.0, automatic=True),
    ]
    if version >= 2:
        table.append(Rule("escalate", ("review",), "review", ("auditor",), reason=True))
    return table


def render(name: str, version: int) -> str:
    """The YAML of ``version`` of the workflow ``name``."""
    lines = [
        f"name: {name}",
        "labels: {vi: Kiểm thử mô hình, en: Model check}",
        "roles:",
        "  clerk: {vi: Văn thư, en: Clerk}",
        "  boss: {vi: Lãnh đạo, en: Boss}",
        "  auditor: {vi: Kiểm soát, en: Auditor}",
        "fields:",
        "  amount: {type: number}",
        "  note: {type: string}",
        "  entries: {type: integer}",
        "  left: {type: string}",
        "states:",
        "  draft:",
        "    initial: true",
        "    timers: [{trigger: expire, after: PT2H}]",
        '    on_exit: [{compute: {left: "state"}}]',
        "  review:",
        "    timers: [{trigger: nudge, after: PT1H}]",
        '    on_enter: [{compute: {entries: "(has(data.entries) ? entries : 0) + 1"}}]',
        "  approved: {final: true}",
        "  rejected: {final: true}",
        "  expired: {final: true}",
        "transitions:",
    ]
    for rule in rules(version):
        lines += [
            f"  - trigger: {rule.trigger}",
            f"    source: [{', '.join(rule.sources)}]",
            f"    dest: {rule.dest}",
            f"    roles: [{', '.join(rule.roles)}]",
            f"    units: {rule.units}",
            f"    require_reason: {'true' if rule.reason else 'false'}",
            f"    automatic: {'true' if rule.automatic else 'false'}",
        ]
        guards = []
        if rule.required:
            guards.append(f"{{required: [{', '.join(rule.required)}]}}")
        if rule.limit is not None:
            guards.append(f"{{compare: {{field: amount, op: le, value: {rule.limit}}}}}")
        if rule.below is not None:
            guards.append(f'{{expr: "has(data.amount) && amount <= {rule.below}"}}')
        if guards:
            lines.append(f"    guards: [{', '.join(guards)}]")
        if rule.merge:
            lines.append(f"    effects: [{{merge: [{', '.join(rule.merge)}]}}]")
    return "\n".join(lines) + "\n"


def triggers(version: int) -> list[str]:
    return list(dict.fromkeys(rule.trigger for rule in rules(version)))


@dataclass
class Event:
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str
    actor: str
    roles: tuple[str, ...]
    unit: str | None
    reason: str | None
    payload: dict[str, Any]
    data: dict[str, Any]
    version: int
    at: datetime


@dataclass
class ModelInstance:
    id: int
    version: int
    unit: str | None
    state: str
    data: dict[str, Any]
    log: list[Event] = field(default_factory=list)
    timer: tuple[str, datetime] | None = None  # (trigger, due): at most one per state here

    def enter(self, state: str, at: datetime) -> None:
        self.state = state
        spec = TIMERS.get(state)
        self.timer = None if spec is None else (spec[0], at + spec[1])


def _empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (list, dict)) and not value


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _le(value: object, limit: int) -> bool:
    return _number(value) and value <= limit  # type: ignore[operator]


def type_problem(values: dict[str, Any]) -> bool:
    """True when a value does not fit its field (amount: number, note: text)."""
    for key, value in values.items():
        if value is None:
            continue
        if key == "amount" and not _number(value):
            return True
        if key == "note" and not isinstance(value, str):
            return True
        if key not in ("amount", "note", "entries", "left"):
            return True
    return False


def predict(
    instance: ModelInstance,
    trigger: str,
    actor: Actor,
    payload: dict[str, Any],
    reason: str | None,
) -> type[Exception] | tuple[Rule, dict[str, Any]]:
    """The error class the engine must raise, or the rule taken and the new data."""
    table = rules(instance.version)
    if trigger not in triggers(instance.version):
        return UnknownTrigger
    candidates = [r for r in table if r.trigger == trigger and instance.state in r.sources]
    if not candidates:
        return TransitionNotAllowed
    guard_refused = False
    for rule in candidates:
        if not actor.roles & set(rule.roles):
            continue
        if rule.units == "own" and not (actor.unit is not None and actor.unit == instance.unit):
            continue
        view = {**instance.data, **payload}
        stored = instance.data.get("amount")  # an expression reads the data, not the payload
        passed = (
            all(not _empty(view.get(f)) for f in rule.required)
            and (rule.limit is None or _le(view.get("amount"), rule.limit))
            and (rule.below is None or (_number(stored) and stored <= rule.below))
        )
        if not passed:
            guard_refused = True
            continue
        if rule.reason and not (reason and reason.strip()):
            return InvalidInput
        merged = {f: payload[f] for f in rule.merge if f in payload}
        if type_problem(merged):
            return InvalidInput
        return rule, entered(instance.state, rule, {**instance.data, **merged})
    return GuardFailed if guard_refused else PermissionDenied


def entered(state: str, rule: Rule, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the exit and entry effects of taking ``rule`` from ``state``: leaving draft
    records it; entering review counts the entry (a self-transition does neither)."""
    if rule.dest == state:
        return data
    data = dict(data)
    if state == "draft":
        data["left"] = "draft"
    if rule.dest == "review":
        data["entries"] = data.get("entries", 0) + 1
    return data


def automatic(instance: ModelInstance) -> tuple[Rule, dict[str, Any]] | None:
    """The automatic transition the engine takes after a step leaves ``instance`` as it is."""
    for rule in rules(instance.version):
        if not rule.automatic or instance.state not in rule.sources:
            continue
        amount = instance.data.get("amount")
        if rule.below is not None and not (_number(amount) and amount <= rule.below):
            continue
        return rule, entered(instance.state, rule, instance.data)
    return None
