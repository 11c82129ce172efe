"""Cross-reference and graph checks over a definition; every problem is reported at once.

Each check is a small pure function yielding ``(path, message)`` pairs; the loader turns paths
into file and line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from workflow.definition import model as m
from workflow.definition import valuechecks
from workflow.definition.yamlsafe import Path
from workflow.errors import MissingExtra
from workflow.i18n import _
from workflow.limits import MAX_ALTERNATIVES, MAX_STATES, MAX_TRANSITIONS
from workflow.workdays import MAX_WORKING_DAYS, ZONE, available

Finding = tuple[Path, str]


class Names:
    """The guard and effect function names an environment provides."""

    def __init__(self, guards: Any = (), effects: Any = ()) -> None:
        self.guards = frozenset(guards)
        self.effects = frozenset(effects)

    @classmethod
    def anything(cls) -> Names:
        """Names that hold every function name: for reading a definition (show, graph) in a
        process that has not registered its functions; never for running it."""
        names = cls()
        names.guards = names.effects = _Everything()
        return names


class _Everything(frozenset[str]):
    def __contains__(self, item: object) -> bool:
        return True


def _state_index(d: m.Definition) -> dict[str, m.StateSpec]:
    return {s.name: s for s in d.states}


def undefined_states(d: m.Definition, names: Names) -> Iterator[Finding]:
    known = _state_index(d)
    for t in d.transitions:
        if t.dest not in known:
            yield ("transitions", t.index, "dest"), f"destination state {t.dest!r} is not defined"
        for source in t.sources:
            if source not in known:
                yield ("transitions", t.index, "source"), f"source state {source!r} is not defined"


def sizes(d: m.Definition, names: Names) -> Iterator[Finding]:
    """The documented limits (:mod:`workflow.limits`): past them no other check runs."""
    if len(d.states) > MAX_STATES:
        yield ("states",), f"{len(d.states):,} states; the limit is {MAX_STATES:,}"
    edges = sum(len(t.sources) for t in d.transitions)
    if edges > MAX_TRANSITIONS:
        yield (
            ("transitions",),
            f"{edges:,} transitions (one per source state); the limit is {MAX_TRANSITIONS:,}",
        )
        return
    seen: dict[tuple[str, str], int] = {}
    for t in d.transitions:
        for source in dict.fromkeys(t.sources):
            count = seen[t.trigger, source] = seen.get((t.trigger, source), 0) + 1
            if count == MAX_ALTERNATIVES + 1:
                yield (
                    ("transitions", t.index),
                    f"more than {MAX_ALTERNATIVES} transitions {t.trigger!r} from {source!r}; "
                    f"the limit is {MAX_ALTERNATIVES}",
                )


def unreachable_states(d: m.Definition, names: Names) -> Iterator[Finding]:
    reached = {d.initial_state.name}
    frontier = [d.initial_state.name]
    while frontier:
        state = frontier.pop()
        for t in d.transitions_by_source.get(state, ()):
            if t.dest not in reached:
                reached.add(t.dest)
                frontier.append(t.dest)
    for s in d.states:
        if s.name not in reached:
            yield ("states", s.name), f"state {s.name!r} cannot be reached from the initial state"


def dead_ends(d: m.Definition, names: Names) -> Iterator[Finding]:
    for s in d.states:
        if not s.final and s.name not in d.transitions_by_source:
            yield (
                ("states", s.name),
                (f"state {s.name!r} is not final but has no transition out (mark it final: true)"),
            )


def out_of_final(d: m.Definition, names: Names) -> Iterator[Finding]:
    finals = d.final_states
    for t in d.transitions:
        for source in t.sources:
            if source in finals:
                yield (
                    ("transitions", t.index, "source"),
                    (f"transition {t.trigger!r} leaves final state {source!r}"),
                )
    for s in d.states:
        if s.final and s.initial:
            yield ("states", s.name), f"state {s.name!r} cannot be both initial and final"


def shadowed(d: m.Definition, names: Names) -> Iterator[Finding]:
    # Only transitions sharing a trigger and a source can shadow one another: comparing within
    # those groups (at most MAX_ALTERNATIVES each) keeps the check linear in the definition.
    earlier_ones: dict[tuple[str, str], list[m.TransitionSpec]] = {}
    for later in d.transitions:
        for source in dict.fromkeys(later.sources):
            group = earlier_ones.setdefault((later.trigger, source), [])
            for earlier in group:
                if (
                    not earlier.guards
                    and not earlier.actor_fields
                    and earlier.unit_scope in ("any", later.unit_scope)
                    and set(later.roles) <= set(earlier.roles)
                ):
                    yield (
                        ("transitions", later.index),
                        (
                            f"transition {later.trigger!r} from {source!r} can never fire: "
                            f"transitions[{earlier.index}] has the same trigger and source, "
                            "no guards, and comes first"
                        ),
                    )
            group.append(later)


def unknown_roles(d: m.Definition, names: Names) -> Iterator[Finding]:
    known = set(d.roles) | {m.SYSTEM_ROLE}
    for t in d.transitions:
        for role in t.roles:
            if role not in known:
                yield ("transitions", t.index, "roles"), f"role {role!r} is not declared in roles"
    for role in d.start_roles:
        if role not in known:
            yield ("start_roles",), f"role {role!r} is not declared in roles"


def _guard_findings(guard: m.Guard, d: m.Definition, names: Names, path: Path) -> Iterator[Finding]:
    if isinstance(guard, m.Required):
        for f in guard.fields:
            if f not in d.fields:
                yield path, f"required field {f!r} is not declared in fields"
    elif isinstance(guard, m.Compare):
        field = (
            guard.field.split(".", 1)[1]
            if guard.field.startswith(("data.", "payload."))
            else guard.field
        )
        if field not in d.fields:
            yield path, f"compared field {field!r} is not declared in fields"
    elif isinstance(guard, (m.AllOf, m.AnyOf)):
        for i, inner in enumerate(guard.guards):
            yield from _guard_findings(
                inner, d, names, (*path, "all" if isinstance(guard, m.AllOf) else "any", i)
            )
    elif isinstance(guard, m.Not):
        yield from _guard_findings(guard.guard, d, names, (*path, "not"))
    elif isinstance(guard, m.ExprGuard):
        yield from _expression_finding(guard.expression, (*path, "expr"))
    elif guard.name not in names.guards:
        yield path, f"guard function {guard.name!r} is not registered"


def _expression_finding(expression: m.Expression, path: Path) -> Iterator[Finding]:
    if expression.problem is not None:
        text = expression.text if len(expression.text) <= 60 else expression.text[:57] + "..."
        yield path, _("expression {text!r}: {problem}", text=text, problem=expression.problem)


def unknown_references(d: m.Definition, names: Names) -> Iterator[Finding]:
    for t in d.transitions:
        for g_index, guard in enumerate(t.guards):
            yield from _guard_findings(guard, d, names, ("transitions", t.index, "guards", g_index))
    for base, effects in d.effect_lists():
        for e_index, effect in enumerate(effects):
            path: Path = (*base, e_index)
            if isinstance(effect, m.FunctionEffect):
                if effect.name not in names.effects:
                    yield path, f"effect function {effect.name!r} is not registered"
                continue
            if isinstance(effect, m.Compute):
                for target, expression in effect.assignments:
                    if target not in d.fields:
                        yield (*path, "compute", target), (
                            f"effect field {target!r} is not declared in fields"
                        )
                    else:
                        yield from _expression_finding(expression, (*path, "compute", target))
                continue
            if isinstance(effect, m.Merge):
                fields = effect.fields
            elif isinstance(effect, m.Spawn):
                fields = effect.copy
            else:
                fields = (effect.field,)
            for f in fields:
                if f not in d.fields:
                    yield path, f"effect field {f!r} is not declared in fields"
    for t in d.transitions:
        for name in t.actor_fields:
            field_spec = d.fields.get(name)
            if field_spec is None or field_spec.type not in ("string", "text"):
                yield (
                    ("transitions", t.index, "actors"),
                    _(
                        "actors field {name!r} must name a declared string field (holding an "
                        "actor id)",
                        name=name,
                    ),
                )
    if d.deadline_field is not None:
        spec = d.fields.get(d.deadline_field)
        if spec is None or spec.type != "datetime":
            yield (
                ("deadline_field",),
                (f"deadline_field {d.deadline_field!r} must name a declared datetime field"),
            )


def timer_checks(d: m.Definition, names: Names) -> Iterator[Finding]:
    for s in d.states:
        for i, timer in enumerate(s.timers):
            path: Path = ("states", s.name, "timers", i)
            if timer.at_field is not None:
                spec = d.fields.get(timer.at_field)
                if spec is None or spec.type != "datetime":
                    yield (
                        path,
                        f"timer field {timer.at_field!r} must name a declared datetime field",
                    )
            yield from _working_days(timer, path)
            candidates = d.transitions_for(timer.trigger, s.name)
            if not candidates:
                yield path, f"timer trigger {timer.trigger!r} has no transition from {s.name!r}"
            elif not any(m.SYSTEM_ROLE in t.roles for t in candidates):
                yield (
                    path,
                    (
                        f"timer trigger {timer.trigger!r} from {s.name!r} must allow the role "
                        f"{m.SYSTEM_ROLE!r} (timers fire as system:timer)"
                    ),
                )


def _working_days(timer: m.TimerSpec, path: Path) -> Iterator[Finding]:
    """What the engine cannot honour in a working-day timer."""
    count = timer.business_days
    if count is None:
        return
    where: Path = (*path, "business_days")
    if count == 0 or (timer.at_field is None and count < 0):
        yield where, _("business_days after entering a state must be a positive number of days")
    if abs(count) > MAX_WORKING_DAYS:
        yield where, _("business_days is more than the limit of {limit:,}", limit=MAX_WORKING_DAYS)
    if timer.zone is not None and timer.zone != ZONE:
        yield (
            (*path, "zone"),
            _(
                "working days follow Vietnam's calendar in {zone}; zone {other!r} cannot be "
                "honoured (leave zone out)",
                zone=ZONE,
                other=timer.zone,
            ),
        )
    if not available():
        yield where, str(MissingExtra("holidays", "office"))


def value_types(d: m.Definition, names: Names) -> Iterator[Finding]:
    """Constants that do not fit their field (:mod:`workflow.definition.valuechecks`)."""
    yield from valuechecks.typed_effects(d)
    yield from valuechecks.impossible_comparisons(d)


def _function_guards(guard: m.Guard) -> Iterator[str]:
    if isinstance(guard, m.FunctionGuard):
        yield guard.name
    elif isinstance(guard, (m.AllOf, m.AnyOf)):
        for inner in guard.guards:
            yield from _function_guards(inner)
    elif isinstance(guard, m.Not):
        yield from _function_guards(guard.guard)


def unregistered(d: m.Definition, names: Names) -> Iterator[Finding]:
    """Guard and effect functions this process's registry lacks: the one check that depends on
    the process, not on the content (a stored version whose content hash holds needs no other)."""
    for t in d.transitions:
        for g_index, guard in enumerate(t.guards):
            for name in _function_guards(guard):
                if name not in names.guards:
                    yield ("transitions", t.index, "guards", g_index), f"guard {name!r}"
    for base, effects in d.effect_lists():
        for e_index, effect in enumerate(effects):
            if isinstance(effect, m.FunctionEffect) and effect.name not in names.effects:
                yield (*base, e_index), f"effect {effect.name!r}"


def automatic_loops(d: m.Definition, names: Names) -> Iterator[Finding]:
    """Automatic transitions must not lead back to where they start (the engine takes them one
    after another in one transaction: a cycle would never end), and nobody but the engine may
    take them."""
    edges: dict[str, set[str]] = {}
    for t in d.transitions:
        if not t.automatic:
            continue
        if t.roles != (m.SYSTEM_ROLE,):
            yield (
                ("transitions", t.index, "roles"),
                _(
                    "automatic transition {trigger!r} must have roles: [system] (the engine "
                    "takes it as system:auto)",
                    trigger=t.trigger,
                ),
            )
        if t.require_reason or t.actor_fields:
            yield (
                ("transitions", t.index, "automatic"),
                _(
                    "automatic transition {trigger!r} cannot require a reason or name actors",
                    trigger=t.trigger,
                ),
            )
        for source in t.sources:
            edges.setdefault(source, set()).add(t.dest)
    automatic_triggers = {t.trigger for t in d.transitions if t.automatic}
    for t in d.transitions:
        if t.automatic or t.trigger not in automatic_triggers:
            continue
        yield (
            ("transitions", t.index, "trigger"),
            _(
                "trigger {trigger!r} is automatic elsewhere: an automatic transition's trigger "
                "names no other transition",
                trigger=t.trigger,
            ),
        )
    loop = _a_cycle(edges)
    if loop:
        first = next(t for t in d.transitions if t.automatic and loop[0] in t.sources)
        yield (
            ("transitions", first.index, "automatic"),
            _("automatic transitions loop: {path}", path=" -> ".join(loop)),
        )


def _a_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph (``[a, b, a]``), or none (linear): peeling the states with no edge
    in, then those with no edge out, leaves only states with both within what is left, and
    walking forward among them must come back to one."""
    indegree: dict[str, int] = {}
    for source, dests in edges.items():
        indegree.setdefault(source, 0)
        for dest in dests:
            indegree[dest] = indegree.get(dest, 0) + 1
    ready = [state for state, n in indegree.items() if n == 0]
    while ready:
        state = ready.pop()
        for dest in edges.get(state, ()):
            indegree[dest] -= 1
            if indegree[dest] == 0:
                ready.append(dest)
    left = {state for state, n in indegree.items() if n > 0}
    # Peel, too, what only follows a cycle: what is then left has an edge out within ``left``.
    back: dict[str, set[str]] = {}
    outdegree = dict.fromkeys(left, 0)
    for source in left:
        for dest in edges.get(source, ()):
            if dest in left:
                outdegree[source] += 1
                back.setdefault(dest, set()).add(source)
    sinks = [state for state, n in outdegree.items() if n == 0]
    while sinks:
        state = sinks.pop()
        left.discard(state)
        for source in back.get(state, ()):
            outdegree[source] -= 1
            if outdegree[source] == 0:
                sinks.append(source)
    if not left:
        return []
    state = min(left)
    walked: dict[str, int] = {}
    path: list[str] = []
    while state not in walked:
        walked[state] = len(path)
        path.append(state)
        state = min(dest for dest in edges.get(state, ()) if dest in left)
    return [*path[walked[state]:], state]


CHECKS: tuple[Callable[[m.Definition, Names], Iterator[Finding]], ...] = (
    undefined_states,
    unreachable_states,
    dead_ends,
    out_of_final,
    shadowed,
    unknown_roles,
    unknown_references,
    timer_checks,
    value_types,
    automatic_loops,
)


def check(d: m.Definition, names: Names) -> list[Finding]:
    """Every finding of every check, in a stable order (only the limits', past them)."""
    findings: list[Finding] = list(sizes(d, names))
    if findings:
        return findings
    graph_ok = not any(True for _ in undefined_states(d, names))
    for rule in CHECKS:
        if not graph_ok and rule in (unreachable_states, dead_ends):
            continue  # with undefined states, reachability findings would only be noise
        findings.extend(rule(d, names))
    return findings
