"""Every chain replayed as a legal run, event by event, in one streaming pass.

:class:`LegalityCheck` is fed the audit rows as the hash walk reads them and reports, for each
chain, the first event no run of the engine could have written (the rules are listed in
:mod:`workflow._legal`), and an instance row that is not its chain's head. A start event's
payload (:func:`placement`) is spelled here too, since the replay is what reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from workflow._effects import apply_effects, check_fields
from workflow._legal.ledger import END_OF_TIME, AdminLedger
from workflow._legal.plans import UNGUARDED, Plan
from workflow._legal.rules import Rules, RulesLookup
from workflow._machine import StepContext
from workflow.definition import model as m
from workflow.errors import WorkflowError
from workflow.hashchain.encoding import CHANNELS, canonical_json
from workflow.hashchain.keys import KeyCheck
from workflow.hashchain.report import ChainProblem
from workflow.hashchain.verifier import CHAIN_COLUMNS, HEAD_COLUMNS, HeadLookup
from workflow.records import SYSTEM_AUTO, SYSTEM_PREFIX, SYSTEM_TIMER, Actor
from workflow.registry import GuardContext, Registry

_AT = {name: i for i, name in enumerate(CHAIN_COLUMNS)}
(
    _ACTOR, _ROLES, _UNIT, _DATA, _DEF_HASH, _DEF_VERSION, _FROM, _INSTANCE, _KIND, _OCCURRED,
    _PAYLOAD, _REASON, _SEQ, _TO, _TRIGGER, _WORKFLOW, _HASH,
) = (_AT[n] for n in (
    "actor", "actor_roles", "actor_unit", "data", "definition_hash", "definition_version",
    "from_state", "instance_id", "kind", "occurred_at", "payload", "reason", "seq", "to_state",
    "trigger", "workflow", "hash",
))  # fmt: skip
_H_DATA, _H_UNIT, _H_COORD, _H_ACTIVE, _H_WORKFLOW, _H_DEFV = (
    HEAD_COLUMNS.index(n) for n in (
        "data", "unit", "coordinating_units", "active", "workflow",
        "definition_version",
    )
)  # fmt: skip
_KEY_ID, _MAC, _CHANNEL = _AT["key_id"], _AT["mac"], _AT["channel"]


_read_json = json.JSONDecoder().raw_decode


def _json_object(text: str) -> dict[str, Any]:
    """A stored JSON object (canonical text, which the hash check vouches for), read without
    :func:`json.loads`'s whitespace scans; anything but an object is refused."""
    value, _ = _read_json(text)
    if type(value) is not dict:
        raise ValueError("not a JSON object")
    return value


_MAX_ACTORS = 65_536
"""Actors (id, roles, unit) remembered during one verification; memory stays bounded."""

_PLACEMENT = frozenset({"unit", "coordinating_units", "parent_id"})


def placement(
    unit: str | None, coordinating_units: Sequence[str], parent_id: int | None
) -> dict[str, Any]:
    """A start event's payload: where the instance was placed (what ``units:`` rules read), so
    the chain, not only the instance row, says it; nothing for an instance placed nowhere."""
    found: dict[str, Any] = {}
    if unit is not None:
        found["unit"] = unit
    if coordinating_units:
        found["coordinating_units"] = list(coordinating_units)
    if parent_id is not None:
        found["parent_id"] = parent_id
    return found


class _Chain:
    """The replayed state of one chain."""

    __slots__ = (
        "coordinating", "count", "data", "data_text", "instance_id", "instant", "parent",
        "problem", "rules", "state", "unit", "version", "workflow",
    )  # fmt: skip

    def __init__(self, instance_id: int) -> None:
        self.instance_id = instance_id
        self.problem: ChainProblem | None = None
        self.count = 0
        self.workflow = ""
        self.version = 0
        self.rules: Rules | None = None
        self.state: str | None = None
        self.data_text = "{}"
        self.data: dict[str, Any] | None = None
        self.unit: str | None = None
        self.coordinating: tuple[str, ...] = ()
        self.parent: int | None = None
        self.instant = ""

    def parsed_data(self) -> dict[str, Any]:
        if self.data is None:
            self.data = _json_object(self.data_text)
        return self.data


class _Illegal(Exception):
    """One event that no run of the engine could have written."""


class LegalityCheck:
    """Fed every audit row (:data:`~workflow.hashchain.verifier.CHAIN_COLUMNS`, by chain and
    ``seq``), it reports the first illegal event of each chain, and a head that is not the
    chain's."""

    def __init__(
        self,
        ledger: AdminLedger,
        rules: RulesLookup,
        registry: Registry,
        instant: Callable[[Any], str],
        head: HeadLookup,
        keys: KeyCheck | None = None,
    ) -> None:
        self.ledger = ledger
        self._heads = head
        self.keys = keys
        self._rules = rules
        self._rules_cache: dict[tuple[str, int], Rules] = {}
        self.registry = registry
        self._instant = instant
        self._actors: dict[tuple[str, str, str | None, bool], tuple[Actor, str, str]] = {}
        self._plans: dict[tuple[int, str, str], Plan] = {}
        self._chain: _Chain | None = None
        self._head: Sequence[Any] | None = None
        self.problems: list[ChainProblem] = []

    def feed(self, row: Sequence[Any]) -> None:
        instance_id = row[_INSTANCE]
        stored = row[_OCCURRED]
        if type(stored) is str and len(stored) == 26 and stored[10] == " ":  # SQLite's text
            at = f"{stored[:10]}T{stored[11:]}Z"  # the hash check validates its digits
        else:
            try:
                at = self._spelled(stored)
            except (TypeError, ValueError):
                at = ""  # an instant the hash check reports
        if self.keys is not None and self.keys.keys is not None:
            self.keys.feed(instance_id, row[_SEQ], row[_HASH], row[_KEY_ID], row[_MAC], at)
        chain = self._chain
        if chain is None or chain.instance_id != instance_id:
            self.close()
            chain = self._chain = _Chain(instance_id)
            self._head = self._heads(instance_id, row)
        if chain.problem is not None:
            return
        chain.count += 1
        try:
            rules = chain.rules
            if (
                row[_KIND] == "transition"
                and rules is not None
                and at >= chain.instant
                and (row[_CHANNEL] is None or self._channel_ok(row))
                and row[_DEF_VERSION] == chain.version
                and row[_WORKFLOW] == chain.workflow
                and row[_DEF_HASH] == rules.content_hash
            ):
                # The common case: a transition on the version the chain is on, in time order,
                # through no channel (the others are checked by _event, the one general path).
                assert rules.definition is not None
                self._transition(chain, row, rules.definition, at)
                chain.instant = at
            else:
                self._event(chain, row, at)
        except _Illegal as exc:
            chain.problem = ChainProblem(instance_id, row[_SEQ], str(exc))
        except (TypeError, ValueError, KeyError, WorkflowError) as exc:
            chain.problem = ChainProblem(instance_id, row[_SEQ], f"cannot be replayed ({exc})")

    def close(self) -> None:
        """End the chain being read (called by :meth:`feed` on the next chain, and at the end)."""
        chain, self._chain = self._chain, None
        if chain is None:
            return
        if chain.problem is None and self._head is not None:
            chain.problem = self._head_problem(chain, self._head)
        if chain.problem is not None:
            self.problems.append(chain.problem)

    # --- one event ---------------------------------------------------------------------------

    def _spelled(self, stored: Any) -> str:
        """The instant as :func:`~workflow.hashchain.encoding.format_instant` spells it
        (PostgreSQL's text is that already; any other shape goes through the hash check's own
        reading)."""
        if type(stored) is str and len(stored) == 27 and stored[10] == "T" and stored[26] == "Z":
            return stored
        return self._instant(stored)[1:-1]

    @staticmethod
    def _channel_ok(row: Sequence[Any]) -> bool:
        """A channel the engine writes, and never for its own actors (the timer, a migration),
        who act through none."""
        channel = row[_CHANNEL]
        return channel is None or (
            channel in CHANNELS and not str(row[_ACTOR]).startswith(SYSTEM_PREFIX)
        )

    def _event(self, chain: _Chain, row: Sequence[Any], at: str) -> None:
        if at < chain.instant:
            raise _Illegal(f"happened at {at}, before the event before it ({chain.instant})")
        if not self._channel_ok(row):
            raise _Illegal(
                f"names the channel {row[_CHANNEL]!r}, which the engine never writes here"
            )
        kind, workflow, version = row[_KIND], row[_WORKFLOW], row[_DEF_VERSION]
        if chain.count == 1:
            if kind != "start":
                raise _Illegal(f"the first event is a {kind!r}, not a start")
            chain.workflow = workflow
        elif workflow != chain.workflow:
            raise _Illegal(f"names workflow {workflow!r}, but the chain is of {chain.workflow!r}")
        rules = self._rules_of(workflow, version)
        if rules.problem:
            raise _Illegal(rules.problem)
        if row[_DEF_HASH] != rules.content_hash:
            raise _Illegal(
                f"names definition hash {str(row[_DEF_HASH])[:12]}..., but {workflow}@{version} "
                f"was deployed with {rules.content_hash[:12]}..."
            )
        definition = rules.definition
        assert definition is not None
        if kind == "start":
            self._start(chain, row, definition, at)
        elif kind == "transition":
            if version != chain.version:
                raise _Illegal(
                    f"is pinned to {workflow}@{version}, but the chain was on @{chain.version} "
                    "and no migration moved it"
                )
            self._transition(chain, row, definition, at)
        elif kind == "migrated":
            self._migrated(chain, row, definition, at)
        else:
            raise _Illegal(f"is of kind {kind!r}, which the engine never writes")
        chain.version, chain.rules, chain.instant = version, rules, at

    def _start(self, chain: _Chain, row: Sequence[Any], definition: m.Definition, at: str) -> None:
        if row[_SEQ] != 1:
            raise _Illegal("is a second start of the same instance")
        initial = definition.initial_state.name
        if row[_TO] != initial or row[_FROM] is not None or row[_TRIGGER] is not None:
            raise _Illegal(f"starts in {row[_TO]!r}, not in the initial state {initial!r}")
        placed, _ = _read_json(row[_PAYLOAD])
        if type(placed) is not dict or not _PLACEMENT.issuperset(placed):
            raise _Illegal("a start's payload holds only where the instance was placed")
        chain.unit = placed.get("unit")
        chain.coordinating = tuple(placed.get("coordinating_units") or ())
        chain.parent = placed.get("parent_id")
        actor = self._actor(row, at, spawned=chain.parent is not None)
        roles = definition.start_roles
        if chain.parent is None and roles and actor.roles.isdisjoint(roles):
            raise _Illegal(f"actor {actor.id!r} started it without a start role {list(roles)}")
        chain.data_text = row[_DATA]
        chain.data = None
        check_fields(definition, chain.parsed_data(), "data")
        chain.state = initial

    def _transition(
        self, chain: _Chain, row: Sequence[Any], definition: m.Definition, at: str
    ) -> None:
        trigger, state = row[_TRIGGER], chain.state
        assert state is not None
        plan = self._plan(definition, trigger, state)
        if not plan.specs:
            known = "" if trigger in definition.triggers else " (no such trigger)"
            raise _Illegal(
                f"{trigger!r} from {state!r} is no transition of "
                f"{chain.workflow}@{chain.version}{known}"
            )
        actor = self._actor(row, at, spawned=False)
        ctx: GuardContext | None = None
        if plan.guarded:
            ctx = self._context(chain, row, actor, at, plan)
            choice = plan.choose(
                StepContext(ctx, actor, chain.unit, chain.coordinating), self.registry
            )
        else:
            # self._actors keeps the actors, so an id names one (both are forgotten together)
            key = (id(actor), chain.unit, chain.coordinating) if plan.scoped else id(actor)
            choice = plan.choices.get(key)  # type: ignore[assignment]
            if choice is None:
                # roles and units are read from the step, not the context
                step = StepContext(UNGUARDED, actor, chain.unit, chain.coordinating)
                choice = plan.choose(step, self.registry)
                plan.remember(key, choice)
        chosen = choice.spec
        if chosen is None:
            raise _Illegal(f"{trigger!r} from {state!r} could not be taken: {choice.refusal}")
        if chosen.dest != row[_TO]:
            raise _Illegal(
                f"{trigger!r} from {state!r} leads to {chosen.dest!r} for this actor, payload and "
                f"data, not to {row[_TO]!r}"
            )
        if chosen.require_reason and not (row[_REASON] and str(row[_REASON]).strip()):
            raise _Illegal(f"{trigger!r} requires a reason and none is recorded")
        if choice.effects:
            if ctx is None:
                ctx = self._context(chain, row, actor, at, plan)
            data, _ = apply_effects(definition, choice.effects, ctx, self.registry)
            text = canonical_json(data)
            if text != row[_DATA]:
                raise _Illegal(
                    "its data does not follow from the data before it, its payload and the "
                    f"effects of {trigger!r}"
                )
            chain.data, chain.data_text = data, text
        elif row[_DATA] != chain.data_text:
            raise _Illegal(f"its data changed, but {trigger!r} has no effects")
        chain.state = chosen.dest

    def _plan(self, definition: m.Definition, trigger: str, state: str) -> Plan:
        key = (id(definition), trigger, state)
        plan = self._plans.get(key)  # bounded by the definitions' (trigger, state) pairs
        if plan is None:
            plan = self._plans[key] = Plan.of(
                definition, state, definition.transitions_for(trigger, state)
            )
        return plan

    def _context(
        self, chain: _Chain, row: Sequence[Any], actor: Actor, at: str, plan: Plan
    ) -> GuardContext:
        return GuardContext(  # positional: this runs for every replayed effect or guard
            chain.instance_id,
            chain.workflow,
            str(chain.state),
            row[_TRIGGER],
            actor.id,
            actor.roles,
            chain.parsed_data(),
            _json_object(row[_PAYLOAD]),
            datetime.fromisoformat(at) if plan.reads_time else datetime.min,
        )

    def _migrated(
        self, chain: _Chain, row: Sequence[Any], definition: m.Definition, at: str
    ) -> None:
        payload = json.loads(row[_PAYLOAD])
        old, new = chain.version, row[_DEF_VERSION]
        previous = chain.rules
        assert previous is not None
        if (
            payload.get("from_version") != old
            or payload.get("to_version") != new
            or payload.get("from_hash") != previous.content_hash
        ):
            raise _Illegal(f"a migration that does not start from {chain.workflow}@{old}")
        if not self.ledger.migrated(chain.workflow, old, new, at, chain.instance_id):
            raise _Illegal(
                f"a migration {chain.workflow}@{old}->{new} the administrators' log does not "
                "record"
            )
        state = chain.state
        assert state is not None
        target = dict(payload.get("mapping") or {}).get(state, state)
        if row[_FROM] != state or row[_TO] != target or target not in definition.state_names:
            raise _Illegal(f"migrates {row[_FROM]!r} to {row[_TO]!r}, not {state!r} to {target!r}")
        if row[_DATA] != chain.data_text:
            raise _Illegal("a migration changed the data")
        chain.state = target

    # --- helpers -----------------------------------------------------------------------------

    def _rules_of(self, workflow: str, version: int) -> Rules:
        key = (workflow, version)
        rules = self._rules_cache.get(key)
        if rules is None:
            rules = self._rules_cache[key] = self._rules(workflow, version)
        return rules

    def _actor(self, row: Sequence[Any], at: str, *, spawned: bool) -> Actor:
        """The event's actor, once its claim is checked against the registrations. Asked for
        every event: an actor cleared at one instant stays cleared until its next
        registration, so it is kept with that span."""
        key = (row[_ACTOR], row[_ROLES], row[_UNIT], spawned)
        held = self._actors.get(key)
        if held is not None:
            actor, lo, hi = held
            if lo <= at < hi:
                return actor
        else:
            actor = Actor(key[0], json.loads(key[1]), key[2])
        ledger = self.ledger
        if actor.id in (SYSTEM_TIMER, SYSTEM_AUTO) or ledger.first_registration is None:
            # the engine's own, or every actor the application's (no registry)
            lo, hi = "", END_OF_TIME
        else:
            # A spawned child's start adds the system role to its parent's actor.
            roles = actor.roles - {m.SYSTEM_ROLE} if spawned else actor.roles
            problem = ledger.actor_problem(actor.id, roles, actor.unit, at)
            if problem:
                raise _Illegal(problem)
            lo, hi = ledger.span(actor.id, at)
        if held is None and len(self._actors) >= _MAX_ACTORS:
            self._actors.clear()
            self._plans.clear()  # their choices are keyed by the actors' ids
        self._actors[key] = (actor, lo, hi)
        return actor

    def _head_problem(self, chain: _Chain, head: Sequence[Any]) -> ChainProblem | None:
        rules = chain.rules
        if rules is None or rules.definition is None or chain.state is None:
            return None
        data = head[_H_DATA]
        # The engine stores the instance's data as its last event's canonical text: equal text
        # is the common case, and needs no parsing; any other spelling is compared by value.
        if data != chain.data_text:
            data = canonical_json(json.loads(data) if isinstance(data, str) else data)
        coordinating = head[_H_COORD]
        if coordinating == "[]":
            coordinating = ()
        elif isinstance(coordinating, str):
            coordinating = json.loads(coordinating)
        final = rules.definition.state(chain.state).final
        names = ("workflow", "definition_version", "data", "unit", "coordinating_units", "active")
        found = (
            head[_H_WORKFLOW], head[_H_DEFV], data, head[_H_UNIT], tuple(coordinating or ()),
            bool(head[_H_ACTIVE]),
        )  # fmt: skip
        want = (chain.workflow, chain.version, chain.data_text, chain.unit, chain.coordinating,
                not final)  # fmt: skip
        if found == want:
            return None
        wrong = [name for name, f, w in zip(names, found, want, strict=True) if f != w]
        return ChainProblem(
            chain.instance_id,
            None,
            f"the instance row's {', '.join(wrong)} differ from what its chain says "
            "(the row was edited)",
        )
