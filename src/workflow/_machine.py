"""The only module that imports ``transitions``: one compiled machine per definition version.

A machine is built once per deployed definition version and drives a single proxy model: each
step sets the proxy's state, triggers, and reads which transition was taken. Conditions are our
own callables (never strings a file could name), so ``transitions`` resolves nothing by name.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from transitions import EventData, Machine, MachineError

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


def _context(event: EventData) -> StepContext:
    context = next(iter(event.args))
    assert isinstance(context, StepContext)
    return context


_MODEL_ATTRIBUTE = "_state"
"""Where the machine keeps the state on the proxy: a definition's names are lower_snake_case and
start with a letter, so no trigger or state can collide with it (``transitions`` refuses a
trigger named like its model attribute, ``state`` by default)."""


class _Proxy:
    _state: str


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
    """A definition version compiled into a shared ``transitions.Machine``."""

    def __init__(
        self, definition: m.Definition, content_hash: str, version: int, registry: Registry
    ) -> None:
        self.definition = definition
        self.content_hash = content_hash
        self.version = version
        self._registry = registry
        self._lock = threading.Lock()
        self._proxy = _Proxy()
        # No model is registered: ``transitions`` binds nothing (triggers, ``is_<state>``,
        # ``may_<trigger>``) onto an object whose attributes a definition's names could shadow;
        # each step hands it the proxy.
        self._machine = Machine(
            model=[],
            model_attribute=_MODEL_ATTRIBUTE,
            states=list(definition.state_names),
            initial=definition.initial_state.name,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            model_override=False,
        )
        for spec in definition.transitions:
            self._machine.add_transition(
                spec.trigger,
                source=list(spec.sources),
                dest=spec.dest,
                conditions=[self._condition(spec)],
                before=[self._choose(spec)],
            )

    def _condition(self, spec: m.TransitionSpec) -> Any:
        def admissible(event: EventData) -> bool:
            return admits(spec, _context(event), self._registry)

        return admissible

    @staticmethod
    def _choose(spec: m.TransitionSpec) -> Any:
        def choose(event: EventData) -> None:
            _context(event).chosen = spec

        return choose

    def step(self, state: str, trigger: str, ctx: StepContext) -> m.TransitionSpec:
        """Take ``trigger`` from ``state``; returns the transition taken or raises why not."""
        instance_id = ctx.guard_context.instance_id
        with self._lock:
            self._proxy._state = state
            try:
                moved = self._machine.events[trigger].trigger(self._proxy, ctx)
            except MachineError:
                raise TransitionNotAllowed(
                    instance_id, state, trigger, self.definition.triggers_from(state)
                ) from None
        if moved and ctx.chosen is not None:
            return ctx.chosen
        if not ctx.guard_refusals:
            raise PermissionDenied(
                ctx.actor.id,
                _("fire {trigger!r} from {state!r}", trigger=trigger, state=state),
                "; ".join(dict.fromkeys(ctx.role_refusals)),
            )
        raise GuardFailed(
            instance_id, state, trigger, list(dict.fromkeys(ctx.guard_refusals)), ctx.missing
        )

    def option(self, state: str, trigger: str, ctx: StepContext) -> TriggerOption:
        """What :meth:`step` would do with ``trigger`` from ``state``, without doing it: the
        transitions of the trigger out of ``state`` tried in declaration order, the first
        admitted wins (how ``transitions`` tries them); the refusals are the ones :meth:`step`
        would raise (``tests/test_available_triggers.py`` holds the two to the same answers)."""
        candidates = self.definition.transitions_for(trigger, state)
        if not candidates:
            return TriggerOption(
                trigger,
                False,
                "state",
                (_("no transition for {trigger!r} from {state!r}", trigger=trigger, state=state),),
            )
        for spec in candidates:
            if admits(spec, ctx, self._registry):
                return TriggerOption(
                    trigger, True, dest=spec.dest, requires_reason=spec.require_reason
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
