"""The only module that imports ``transitions``: one compiled machine per definition version.

``transitions`` compiles each deployed definition version once (a definition it cannot take is
refused at deploy, ``catalog.compile_machine``); its table of transitions per trigger and source
state, in declaration order, is the plan a step walks. A step takes the first transition of the
plan whose condition (:func:`admits`: roles, unit scope, guards) holds, which is the rule
``transitions`` applies when it fires an event; it is applied here directly, without the
library's event machinery (a model, callbacks, a lock around a shared proxy): that machinery cost
about 10 µs of a fire's CPU, more than the transition's own checks (docs/performance.md, sixth
round). :meth:`CompiledMachine.step`, :meth:`CompiledMachine.option` and the audit replay
(``_legal``) all walk the same plan with the same :func:`admits`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transitions import Machine

from workflow.definition import model as m
from workflow.errors import GuardFailed, PermissionDenied, TransitionNotAllowed
from workflow.i18n import _
from workflow.records import Actor, ClosedBy, TriggerOption
from workflow.registry import GuardContext, Registry, evaluate_all


@dataclass
class StepContext:
    """One attempt: what the conditions saw, and which transition won."""

    guard_context: GuardContext
    actor: Actor
    instance_unit: str | None
    coordinating_units: tuple[str, ...]
    chosen: m.TransitionSpec | None = None
    role_refusals: list[str] = field(default_factory=list)
    guard_refusals: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    scope_refused: bool = False
    """A transition the actor had the role for was refused on its unit scope."""


_MODEL_ATTRIBUTE = "_state"
"""The model attribute ``transitions`` is told of: a definition's names are lower_snake_case and
start with a letter, so no trigger or state can collide with it (``transitions`` refuses a
trigger named like its model attribute, ``state`` by default)."""


def unit_allows(
    scope: m.UnitScope, actor: Actor, unit: str | None, coordinating: tuple[str, ...]
) -> bool:
    if scope == "any":
        return True
    own = actor.unit is not None and actor.unit == unit
    helps = actor.unit is not None and actor.unit in coordinating
    if scope == "own":
        return own
    if scope == "coordinating":
        return helps
    return own or helps


def admits(spec: m.TransitionSpec, ctx: StepContext, registry: Registry) -> bool:
    """Whether ``spec`` may be taken in ``ctx``: roles, then unit scope, then guards; a refusal
    is noted in ``ctx``. The machine's condition, and the audit replay's (one rule for both)."""
    if ctx.actor.roles.isdisjoint(spec.roles):
        ctx.role_refusals.append(
            _(
                "needs one of the roles {roles} (has {has})",
                roles=", ".join(spec.roles),
                has=", ".join(sorted(ctx.actor.roles)) or _("none"),
            )
        )
        return False
    if spec.unit_scope != "any" and not unit_allows(
        spec.unit_scope, ctx.actor, ctx.instance_unit, ctx.coordinating_units
    ):
        ctx.scope_refused = True
        ctx.role_refusals.append(
            _(
                "unit {unit} is not the {scope} unit of this instance ({own})",
                unit=ctx.actor.unit or _("(none)"),
                scope=spec.unit_scope,
                own=ctx.instance_unit or _("none"),
            )
        )
        return False
    if spec.actor_fields:
        data = ctx.guard_context.data
        named = [str(data[f]) for f in spec.actor_fields if data.get(f) is not None]
        if ctx.actor.id not in named:
            expected = ", ".join(
                f"{f} ({data[f]})"
                if data.get(f) is not None
                else _("{field} (no one yet)", field=f)
                for f in spec.actor_fields
            )
            ctx.role_refusals.append(
                _("needs to be the actor named in {expected}", expected=expected)
            )
            return False
    if not spec.guards:
        return True
    outcome = evaluate_all(spec.guards, ctx.guard_context, registry)
    if not outcome.passed:
        ctx.guard_refusals.extend(outcome.reasons)
        ctx.missing.extend(f for f in outcome.missing if f not in ctx.missing)
    return outcome.passed


class CompiledMachine:
    """A definition version compiled by ``transitions``, and the plan read from it."""

    def __init__(
        self, definition: m.Definition, content_hash: str, version: int, registry: Registry
    ) -> None:
        self.definition = definition
        self.content_hash = content_hash
        self.version = version
        self._registry = registry
        # No model is registered: ``transitions`` binds nothing (triggers, ``is_<state>``,
        # ``may_<trigger>``) onto an object whose attributes a definition's names could shadow;
        # the machine is the compiled table, never fired (see the module's docstring).
        machine = Machine(
            model=[],
            model_attribute=_MODEL_ATTRIBUTE,
            states=list(definition.state_names),
            initial=definition.initial_state.name,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            model_override=False,
        )
        plan: dict[tuple[str, str], list[m.TransitionSpec]] = {}
        for spec in definition.transitions:
            machine.add_transition(spec.trigger, source=list(spec.sources), dest=spec.dest)
            for source in dict.fromkeys(spec.sources):
                plan.setdefault((spec.trigger, source), []).append(spec)
        self.machine = machine
        self._plan = {key: tuple(specs) for key, specs in plan.items()}
        """(trigger, source state) → its transitions, in the order of the machine's own table
        (``machine.events[trigger].transitions[source]``, declaration order);
        ``tests/test_available_triggers.py`` holds the two equal on the shipped definitions."""

    def plan(self, trigger: str, state: str) -> tuple[m.TransitionSpec, ...]:
        """The transitions ``trigger`` may take from ``state``, in the order they are tried."""
        return self._plan.get((trigger, state), ())

    def _first_admitted(
        self, candidates: tuple[m.TransitionSpec, ...], ctx: StepContext
    ) -> m.TransitionSpec | None:
        """The first of ``candidates`` whose condition holds in ``ctx`` (refusals noted in it)."""
        for spec in candidates:
            if admits(spec, ctx, self._registry):
                ctx.chosen = spec
                return spec
        return None

    def step(self, state: str, trigger: str, ctx: StepContext) -> m.TransitionSpec:
        """Take ``trigger`` from ``state``: the transition taken, or raise why none may be."""
        candidates = self._plan.get((trigger, state))
        if not candidates:
            raise TransitionNotAllowed(
                ctx.guard_context.instance_id, state, trigger, self.definition.triggers_from(state)
            )
        chosen = self._first_admitted(candidates, ctx)
        if chosen is not None:
            return chosen
        if not ctx.guard_refusals:
            raise PermissionDenied(
                ctx.actor.id,
                _("fire {trigger!r} from {state!r}", trigger=trigger, state=state),
                "; ".join(dict.fromkeys(ctx.role_refusals)),
            )
        raise GuardFailed(
            ctx.guard_context.instance_id,
            state,
            trigger,
            list(dict.fromkeys(ctx.guard_refusals)),
            ctx.missing,
        )

    def option(self, state: str, trigger: str, ctx: StepContext) -> TriggerOption:
        """What :meth:`step` would do with ``trigger`` from ``state``, without doing it: the
        transitions of the trigger out of ``state`` tried in declaration order, the first
        admitted wins (how ``transitions`` tries them); the refusals are the ones :meth:`step`
        would raise (``tests/test_available_triggers.py`` holds the two to the same answers)."""
        candidates = self._plan.get((trigger, state))
        if not candidates:
            return TriggerOption(
                trigger,
                False,
                "state",
                (_("no transition for {trigger!r} from {state!r}", trigger=trigger, state=state),),
            )
        chosen = self._first_admitted(candidates, ctx)
        if chosen is not None:
            return TriggerOption(
                trigger, True, dest=chosen.dest, requires_reason=chosen.require_reason
            )
        if ctx.guard_refusals:
            return TriggerOption(
                trigger,
                False,
                "guard",
                tuple(dict.fromkeys(ctx.guard_refusals)),
                tuple(ctx.missing),
            )
        closed_by: ClosedBy = "unit" if ctx.scope_refused else "role"
        return TriggerOption(trigger, False, closed_by, tuple(dict.fromkeys(ctx.role_refusals)))
