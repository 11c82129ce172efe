"""The difference between two versions of a definition, as a list of entries.

States, fields, roles and timers are matched by name (timers by trigger); transitions by
trigger (the n-th transition of a trigger matches the n-th), so a transition whose sources,
destination, roles, guards or effects change shows as *changed*, and its guards and effects as
added or removed entries of their own. Guards, effects and timers are described in the words
of the file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from workflow.definition import model as m
from workflow.definition.durations import format_duration

Change = Literal["added", "removed", "changed"]
Kind = Literal["workflow", "role", "field", "state", "timer", "transition", "guard", "effect"]
SIGNS: Mapping[Change, str] = {"added": "+", "removed": "-", "changed": "~"}


@dataclass(frozen=True)
class DiffEntry:
    """One difference: ``subject`` names the thing; ``before``/``after`` describe it."""

    change: Change
    kind: Kind
    subject: str
    before: str | None = None
    after: str | None = None

    def __str__(self) -> str:
        if self.change == "changed":
            detail: str | None = f"{self.before} => {self.after}"
        else:
            detail = self.after if self.change == "added" else self.before
        return f"{SIGNS[self.change]} {self.kind} {self.subject}: {detail}"


@dataclass(frozen=True)
class DefinitionDiff:
    workflow: str
    old_version: int
    new_version: int
    entries: tuple[DiffEntry, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.entries

    def of(self, kind: Kind, change: Change | None = None) -> list[DiffEntry]:
        """The entries about ``kind`` things (only those ``change``d that way, if given)."""
        return [
            e for e in self.entries if e.kind == kind and (change is None or e.change == change)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "entries": [
                {
                    "change": e.change,
                    "kind": e.kind,
                    "subject": e.subject,
                    "before": e.before,
                    "after": e.after,
                }
                for e in self.entries
            ],
        }


# --- descriptions, in the words of the file ------------------------------------------------------


def _value(value: object) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def describe_guard(guard: m.Guard) -> str:
    if isinstance(guard, m.Required):
        return f"required [{', '.join(guard.fields)}]"
    if isinstance(guard, m.Compare):
        return f"compare {guard.field} {guard.op} {_value(guard.value)}"
    if isinstance(guard, (m.AllOf, m.AnyOf)):
        word = "all" if isinstance(guard, m.AllOf) else "any"
        return f"{word}({'; '.join(describe_guard(g) for g in guard.guards)})"
    if isinstance(guard, m.Not):
        return f"not({describe_guard(guard.guard)})"
    if isinstance(guard, m.ExprGuard):
        return f"expr {guard.expression.text}"
    return f"function {guard.name}"


def describe_effect(effect: m.Effect) -> str:
    if isinstance(effect, m.Merge):
        return f"merge [{', '.join(effect.fields)}]"
    if isinstance(effect, m.SetField):
        return f"set {effect.field} = {_value(effect.value)}"
    if isinstance(effect, m.Stamp):
        return f"stamp {effect.field}"
    if isinstance(effect, m.ClearField):
        return f"clear {effect.field}"
    if isinstance(effect, m.Spawn):
        copied = f" copying [{', '.join(effect.copy)}]" if effect.copy else ""
        return f"spawn {effect.workflow}{copied}"
    if isinstance(effect, m.Compute):
        return "compute " + "; ".join(f"{f} = {e.text}" for f, e in effect.assignments)
    return f"function {effect.name}"


def describe_timer(timer: m.TimerSpec) -> str:
    deadline = " (deadline)" if timer.deadline else ""
    working = f"{timer.business_days:+d} working days" if timer.business_days else ""
    if timer.at_field is None and timer.business_days is not None:
        return f"{timer.trigger} after {timer.business_days} working days{deadline}"
    if timer.business_days is not None:
        return f"{timer.trigger} at {timer.at_field} {working}{deadline}"
    if timer.after is not None:
        return f"{timer.trigger} after {format_duration(timer.after)}{deadline}"
    offset = f" {format_duration(timer.offset)}" if timer.offset else ""
    return f"{timer.trigger} at {timer.at_field}{offset}{deadline}"


def _labels(labels: m.Labels | None) -> str:
    return "none" if labels is None else f"{labels.vi} / {labels.en}"


def _state(state: m.StateSpec) -> str:
    flags = [flag for flag, on in (("initial", state.initial), ("final", state.final)) if on]
    return ", ".join(flags) or "intermediate"


def _transition(t: m.TransitionSpec) -> str:
    return f"[{', '.join(t.sources)}] -> {t.dest} roles [{', '.join(t.roles)}]"


# --- comparison ----------------------------------------------------------------------------------


def _keyed(items: Mapping[str, str], kind: Kind, old: Mapping[str, str]) -> Iterator[DiffEntry]:
    """Added, removed and changed entries between two name → description maps."""
    for name in old:
        if name not in items:
            yield DiffEntry("removed", kind, name, before=old[name])
    for name, described in items.items():
        if name not in old:
            yield DiffEntry("added", kind, name, after=described)
        elif old[name] != described:
            yield DiffEntry("changed", kind, name, before=old[name], after=described)


def _multiset(old: list[str], new: list[str], kind: Kind, subject: str) -> Iterator[DiffEntry]:
    """Guards and effects have no names: what one list has more of than the other."""
    removed, added = Counter(old) - Counter(new), Counter(new) - Counter(old)
    for text in old:
        if removed[text] > 0:
            removed[text] -= 1
            yield DiffEntry("removed", kind, subject, before=text)
    for text in new:
        if added[text] > 0:
            added[text] -= 1
            yield DiffEntry("added", kind, subject, after=text)


def _numbered(transitions: tuple[m.TransitionSpec, ...]) -> dict[str, m.TransitionSpec]:
    seen: Counter[str] = Counter()
    out: dict[str, m.TransitionSpec] = {}
    for t in transitions:
        key = t.trigger
        seen[key] += 1
        out[key if seen[key] == 1 else f"{key} #{seen[key]}"] = t
    return out


def _settings(d: m.Definition) -> dict[str, str]:
    return {
        "labels": _labels(d.labels),
        "description": d.description or "none",
        "start_roles": f"[{', '.join(d.start_roles)}]",
        "deadline_field": d.deadline_field or "none",
    }


def _timers(old: m.StateSpec, new: m.StateSpec) -> Iterator[DiffEntry]:
    def by_trigger(state: m.StateSpec) -> dict[str, str]:
        return {t.trigger: describe_timer(t) for t in state.timers}

    for entry in _keyed(by_trigger(new), "timer", by_trigger(old)):
        yield DiffEntry(
            entry.change, "timer", f"{new.name}.{entry.subject}", entry.before, entry.after
        )


def _transition_changes(
    old: m.TransitionSpec, new: m.TransitionSpec, key: str
) -> Iterator[DiffEntry]:
    for attribute, before, after in (
        ("sources", f"[{', '.join(old.sources)}]", f"[{', '.join(new.sources)}]"),
        ("dest", old.dest, new.dest),
        ("roles", f"[{', '.join(old.roles)}]", f"[{', '.join(new.roles)}]"),
        ("units", old.unit_scope, new.unit_scope),
        ("require_reason", str(old.require_reason).lower(), str(new.require_reason).lower()),
        ("actors", f"[{', '.join(old.actor_fields)}]", f"[{', '.join(new.actor_fields)}]"),
        ("automatic", str(old.automatic).lower(), str(new.automatic).lower()),
        ("labels", _labels(old.labels), _labels(new.labels)),
    ):
        if before != after:
            yield DiffEntry("changed", "transition", f"{key} {attribute}", before, after)
    yield from _parts(old, new, key)


def _parts(old: m.TransitionSpec, new: m.TransitionSpec, key: str) -> Iterator[DiffEntry]:
    """The guards and effects one transition has and the other has not."""
    yield from _multiset(
        [describe_guard(g) for g in old.guards],
        [describe_guard(g) for g in new.guards],
        "guard",
        key,
    )
    yield from _multiset(
        [describe_effect(e) for e in old.effects],
        [describe_effect(e) for e in new.effects],
        "effect",
        key,
    )


def diff_definitions(
    old: m.Definition, new: m.Definition, old_version: int = 1, new_version: int = 2
) -> DefinitionDiff:
    """Every difference between two definitions, in a stable order."""
    entries: list[DiffEntry] = list(_keyed(_settings(new), "workflow", _settings(old)))
    entries += _keyed(
        {r: _labels(labels) for r, labels in new.roles.items()},
        "role",
        {r: _labels(labels) for r, labels in old.roles.items()},
    )
    entries += _keyed(
        {f.name: f.type for f in new.fields.values()},
        "field",
        {f.name: f.type for f in old.fields.values()},
    )
    old_states = {s.name: s for s in old.states}
    entries += _keyed(
        {s.name: _state(s) for s in new.states}, "state", {s.name: _state(s) for s in old.states}
    )
    for state in new.states:
        before = old_states.get(state.name)
        if before is not None:
            if before.labels != state.labels:
                entries.append(
                    DiffEntry(
                        "changed",
                        "state",
                        f"{state.name} labels",
                        _labels(before.labels),
                        _labels(state.labels),
                    )
                )
            entries += _timers(before, state)
        else:
            entries += (
                DiffEntry("added", "timer", f"{state.name}.{t.trigger}", after=describe_timer(t))
                for t in state.timers
            )
    empty = m.StateSpec("")
    for state in new.states:
        before = old_states.get(state.name, empty)
        for hook in ("on_enter", "on_exit"):
            entries += _multiset(
                [describe_effect(e) for e in getattr(before, hook)],
                [describe_effect(e) for e in getattr(state, hook)],
                "effect",
                f"{state.name}.{hook}",
            )
    for name, state in old_states.items():
        if name not in new.state_names:
            for hook in ("on_enter", "on_exit"):
                entries += _multiset(
                    [describe_effect(e) for e in getattr(state, hook)], [], "effect",
                    f"{name}.{hook}",
                )  # fmt: skip
            entries += (
                DiffEntry("removed", "timer", f"{name}.{t.trigger}", before=describe_timer(t))
                for t in state.timers
            )
    old_t, new_t = _numbered(old.transitions), _numbered(new.transitions)
    gone = m.TransitionSpec(0, "", (), "", ())  # compared with it, everything is added/removed
    for key, t in old_t.items():
        if key not in new_t:
            entries.append(DiffEntry("removed", "transition", key, before=_transition(t)))
            entries += _parts(t, gone, key)
    for key, t in new_t.items():
        if key not in old_t:
            entries.append(DiffEntry("added", "transition", key, after=_transition(t)))
            entries += _parts(gone, t, key)
        else:
            entries += _transition_changes(old_t[key], t, key)
    return DefinitionDiff(new.name, old_version, new_version, tuple(entries))
