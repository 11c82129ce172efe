"""Stateful property test: the engine against the plain reference model, on both backends, the
engine called directly and through the async engine on an event loop (``api_modes``).

Rules start instances, fire random triggers as random actors with random payloads and reasons,
move the clock and run due timers, restart the engine on the same database and deploy new
definition versions. After every step the engine must agree with the model on every instance's
state, data, version and audit log; every chain must verify; every audited edge must exist in
the definition version it was taken under.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from api_modes import ThroughEventLoop
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from reference_model import (
    FINAL,
    MAX_VERSION,
    Event,
    ModelInstance,
    automatic,
    predict,
    render,
    rules,
    triggers,
    type_problem,
)
from reliability_support import DatabasePool, count, profile

from workflow import (
    Actor,
    Engine,
    FrozenClock,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    Registry,
    WorkflowError,
)
from workflow.admin import MigrationRequest, migrate_instances
from workflow.records import SYSTEM_AUTO
from workflow.timers import run_due_timers

LATEST_START = datetime(2021, 3, 1, 8, 0, tzinfo=UTC)
# Each example starts its clock 30 days before the one before it (and runs for less than that),
# so timers left pending by earlier examples in a shared PostgreSQL schema are never due in it.
EXAMPLE_SPACING = timedelta(days=30)

AUTO = Actor(SYSTEM_AUTO, ["system"])
"""Who takes the automatic transitions: the engine itself."""
ACTORS = [
    # Hypothesis draws (and shrinks towards) the first entries most: the busiest actor first.
    Actor(":name", ["clerk", "boss", "auditor"], "u1"),
    Actor("clerk-u1", ["clerk"], "u1"),
    Actor("boss", ["boss"], "u1"),
    Actor("kiểm soát\u202eviên", ["auditor"], "u2"),  # right-to-left override in the id
    Actor("clerk-u2", ["clerk"], "u2"),
    Actor("clerk-no-unit", ["clerk"]),
    Actor("x'); DROP TABLE instances; --", []),
    Actor("robot", ["system"]),
]
TRIGGERS = [*triggers(MAX_VERSION), "bogus", "' OR 1=1 --", ":trigger"]
HOSTILE_KEYS = ["x", "'; DELETE FROM audit_events; --", ":name", "\u202e", "a\x00b"]

amounts = st.one_of(st.integers(-50, 600), st.none(), st.sampled_from(["12", " ", ""]))
payloads = st.fixed_dictionaries(
    {},
    optional={
        "amount": amounts,
        "note": st.text(max_size=12),
        "extra": st.dictionaries(st.sampled_from(HOSTILE_KEYS), st.text(max_size=8), max_size=2),
    },
)
reasons = st.one_of(st.sampled_from(["lý do ✓", "  "]), st.text(max_size=16), st.none())
workflow_numbers = itertools.count(1)


class EngineVersusModel(RuleBasedStateMachine):
    """One example: its own workflow name, a database from the pool, a frozen clock."""

    pool: DatabasePool
    portal: BlockingPortal | None = None
    """Set: the engine's verbs are awaited through ``AsyncEngine`` on this portal's loop."""

    def __init__(self) -> None:
        super().__init__()
        count("model check: examples")
        self.url = self.pool.next_url()
        number = next(workflow_numbers)
        self.name = f"mc{number}_{self.pool.backend[:2]}"
        self.clock = FrozenClock(LATEST_START - number * EXAMPLE_SPACING)
        self.engine = self._open()
        self.version = 1
        self.engine.deploy_text(render(self.name, 1), filename=f"{self.name}.yaml")
        self.instances: dict[int, ModelInstance] = {}
        self.definitions: dict[int, Any] = {}
        self.keys: dict[str, tuple[int, int, str, Actor]] = {}
        """Idempotency key → (instance, seq) of the transition it applied (not of an automatic
        one that followed), trigger and actor."""

    def _open(self) -> Any:
        engine = Engine.open(self.url, clock=self.clock, registry=Registry())
        return engine if self.portal is None else ThroughEventLoop(engine, self.portal)

    @property
    def itself(self) -> Engine:
        """The synchronous engine, for the feature packages' verbs (timers, migration)."""
        return getattr(self.engine, "sync", self.engine)

    def teardown(self) -> None:
        self.engine.close()

    # --- rules ------------------------------------------------------------------------------

    @initialize(amount=st.integers(0, 300), unit=st.sampled_from(["u1", "u2"]))
    def first_instances(self, amount: int, unit: str) -> None:
        """Every run starts with two instances, so firing rules apply from the first step."""
        self.start(ACTORS[0], unit, amount, None)
        self.start(ACTORS[1], "u1", None, "ghi chú")

    @rule(
        actor=st.sampled_from(ACTORS),
        unit=st.sampled_from(["u1", "u2", None]),
        amount=amounts,
        note=st.one_of(st.none(), st.text(max_size=10)),
    )
    def start(self, actor: Actor, unit: str | None, amount: Any, note: str | None) -> None:
        count("model check: steps")
        data = {k: v for k, v in {"amount": amount, "note": note}.items() if v is not None}
        if type_problem(data):
            with pytest.raises(InvalidInput):
                self.engine.start(self.name, actor, data=data, unit=unit)
            return
        result = self.engine.start(self.name, actor, data=data, unit=unit)
        now = self.clock.now()
        instance = ModelInstance(result.instance.id, self.version, unit, "draft", dict(data))
        instance.enter("draft", now)
        instance.log.append(
            Event(
                "start",
                None,
                None,
                "draft",
                actor.id,
                tuple(sorted(actor.roles)),
                actor.unit,
                None,
                {"unit": unit} if unit is not None else {},
                dict(data),
                self.version,
                now,
            )
        )
        self.instances[instance.id] = instance

    @precondition(lambda self: self.instances)
    @rule(
        pick=st.integers(0, 10**6),
        trigger=st.sampled_from(TRIGGERS),
        actor=st.sampled_from(ACTORS),
        payload=payloads,
        reason=reasons,
    )
    def fire_anything(
        self, pick: int, trigger: str, actor: Actor, payload: dict[str, Any], reason: str | None
    ) -> None:
        """Any trigger (unknown ones and SQL-looking text included) as any actor."""
        self._fire(self._pick(pick), trigger, actor, payload, reason)

    @precondition(lambda self: self.instances)
    @rule(
        pick=st.integers(0, 10**6),
        choice=st.integers(0, 50),
        payload=payloads,
        reason=reasons,
    )
    def fire_offered(
        self, pick: int, choice: int, payload: dict[str, Any], reason: str | None
    ) -> None:
        """A trigger the instance's state offers, as an actor holding one of its roles."""
        instance = self._pick(pick)
        # System triggers are left to the timers (and to fire_anything's "robot" actor).
        offered = [
            r
            for r in rules(instance.version)
            if instance.state in r.sources and r.roles != ("system",)
        ]
        if not offered:
            self._fire(instance, TRIGGERS[choice % len(TRIGGERS)], ACTORS[0], payload, reason)
            return
        chosen = offered[choice % len(offered)]
        fitting = [a for a in ACTORS if a.roles & set(chosen.roles)] or ACTORS
        self._fire(instance, chosen.trigger, fitting[choice % len(fitting)], payload, reason)

    @rule(amount=st.integers(-5, 60))
    def submit_a_small_amount(self, amount: int) -> None:
        """A small amount entering review is approved by the engine itself (``fast_track``, an
        automatic transition) in the same transaction, after the entry and exit effects ran."""
        self.start(ACTORS[0], "u1", None, None)
        instance = self.instances[max(self.instances)]
        self._fire(instance, "submit", ACTORS[1], {"amount": amount, "note": "nhỏ"}, None)

    @precondition(lambda self: self.instances)
    @rule(
        pick=st.integers(0, 10**6),
        choice=st.integers(0, 50),
        key=st.integers(0, 1),
        resend=st.sampled_from(["identical", "other instance", "other payload", "other trigger"]),
    )
    def fire_with_idempotency_key(self, pick: int, choice: int, key: int, resend: str) -> None:
        """A key applies one transition once and stays bound to that request: the identical
        request replays it; the key sent to another instance or with another payload or trigger
        is refused and changes nothing; a refused fire does not use the key up."""
        name = f"{self.name}-key-{key}"  # the database outlives the example: keys too
        if name not in self.keys:
            instance = self._pick(pick)
            offered = [r for r in rules(instance.version) if instance.state in r.sources]
            chosen = offered[choice % len(offered)] if offered else None
            trigger = chosen.trigger if chosen else "submit"
            fitting = [a for a in ACTORS if chosen and a.roles & set(chosen.roles)] or ACTORS
            actor = fitting[choice % len(fitting)]
            # The requested step's own event: an automatic transition it sets off comes after
            # it, and a replay answers with what the request itself did.
            step = len(instance.log) + 1
            if self._fire(instance, trigger, actor, {}, None, idempotency_key=name):
                self.keys[name] = (instance.id, step, trigger, actor)
            return
        count("model check: steps")
        instance_id, seq, trigger, actor = self.keys[name]
        payload: dict[str, Any] = {}
        others = [i for i in self.instances if i != instance_id]
        if resend == "other instance" and others:
            instance_id = others[pick % len(others)]
        elif resend == "other payload":
            payload = {"note": "khác"}
        elif resend == "other trigger":
            trigger = "bogus"
        else:
            resend = "identical"
        if resend != "identical":
            count(f"model check: idempotency keys refused ({resend})")
            with pytest.raises(IdempotencyKeyReused):
                self.engine.fire(instance_id, trigger, actor, payload=payload, idempotency_key=name)
            return
        count("model check: idempotent replays")
        result = self.engine.fire(instance_id, trigger, actor, idempotency_key=name)
        assert result.replayed
        assert (result.event.instance_id, result.event.seq) == (instance_id, seq)

    def _pick(self, pick: int) -> ModelInstance:
        return list(self.instances.values())[pick % len(self.instances)]

    def _fire(
        self,
        instance: ModelInstance,
        trigger: str,
        actor: Actor,
        payload: dict[str, Any],
        reason: str | None,
        idempotency_key: str | None = None,
    ) -> bool:
        """Fire as the model predicts; whether a transition was applied."""
        count("model check: steps")
        expected: Any = InvalidInput if reason is not None and "\x00" in reason else None
        if expected is None:
            expected = predict(instance, trigger, actor, payload, reason)
        if isinstance(expected, type):
            count(f"model check: refused ({expected.__name__})")
            with pytest.raises(expected):
                self.engine.fire(
                    instance.id,
                    trigger,
                    actor,
                    payload=payload,
                    reason=reason,
                    idempotency_key=idempotency_key,
                )
            return False
        chosen, data = expected
        result = self.engine.fire(
            instance.id,
            trigger,
            actor,
            payload=payload,
            reason=reason,
            idempotency_key=idempotency_key,
        )
        assert not result.replayed
        count("model check: transitions applied")
        self._apply(instance, trigger, chosen.dest, actor, payload, reason, data)
        return True

    @precondition(lambda self: self.instances)
    @rule(offset=st.sampled_from([1, 1000, 2**62]))
    def fire_missing_instance(self, offset: int) -> None:
        count("model check: steps")
        with pytest.raises(NotFound):
            self.engine.fire(max(self.instances) + offset, "submit", ACTORS[0])

    @rule(minutes=st.integers(0, 75))
    def advance_clock_and_run_timers(self, minutes: int) -> None:
        count("model check: steps")
        self.clock.advance(timedelta(minutes=minutes))
        now = self.clock.now()
        due = sorted(
            (i.timer[1], i.id) for i in self.instances.values() if i.timer and i.timer[1] <= now
        )
        run = run_due_timers(self.itself)
        fired = 0
        for _, instance_id in due:
            instance = self.instances[instance_id]
            assert instance.timer is not None
            trigger = instance.timer[0]
            system = Actor.system()
            outcome = predict(instance, trigger, system, {}, None)
            assert not isinstance(outcome, type), outcome
            instance.timer = None  # fired: a self-transition keeps it fired, not pending
            self._apply(instance, trigger, outcome[0].dest, system, {}, None, outcome[1])
            fired += 1
        assert (run.fired, run.dead) == (fired, 0)
        count("model check: timers fired", fired)

    @rule(minutes=st.integers(1, 150))
    def advance_clock_while_the_worker_is_down(self, minutes: int) -> None:
        """Time passes with no timer run: timers fall due while people go on firing."""
        count("model check: steps")
        self.clock.advance(timedelta(minutes=minutes))

    @precondition(lambda self: self.instances)
    @rule(
        ahead=st.integers(0, 150),
        minutes_back=st.integers(1, 90),
        pick=st.integers(0, 10**6),
    )
    def run_timers_before_the_last_event(self, ahead: int, minutes_back: int, pick: int) -> None:
        """The worker is down for ``ahead`` minutes while someone annotates an instance, then
        timers run at a moment before the clock's (a simulation's ``--now``): a due timer whose
        instance has an event after that moment is handed back, never dated before it; the
        others fire, dated at that moment."""
        self.clock.advance(timedelta(minutes=ahead))
        self._fire(self._pick(pick), "annotate", ACTORS[0], {"note": "muộn"}, None)
        at = self.clock.now() - timedelta(minutes=minutes_back)
        due = sorted(
            (i.timer[1], i.id) for i in self.instances.values() if i.timer and i.timer[1] <= at
        )
        run = run_due_timers(self.itself, now=at)
        fired = skipped = 0
        for _, instance_id in due:
            instance = self.instances[instance_id]
            assert instance.timer is not None
            if instance.log[-1].at > at:
                skipped += 1
                continue
            trigger, system = instance.timer[0], Actor.system()
            outcome = predict(instance, trigger, system, {}, None)
            assert not isinstance(outcome, type), outcome
            instance.timer = None
            self._apply(instance, trigger, outcome[0].dest, system, {}, None, outcome[1], at)
            fired += 1
        assert (run.fired, run.skipped, run.dead) == (fired, skipped, 0)
        count("model check: timers fired at an earlier moment", fired)
        count("model check: timers handed back (before the last event)", skipped)

    @rule(now=st.sampled_from([False, False, False, True]))
    def restart(self, now: bool) -> None:
        """Close and reopen the engine on the same database (one time in four when drawn)."""
        count("model check: steps")
        if not now:
            return
        count("model check: restarts")
        self.engine.close()
        self.engine = self._open()

    @precondition(lambda self: self.version < MAX_VERSION)
    @rule()
    def deploy_next_version(self) -> None:
        count("model check: steps")
        self.version += 1
        result = self.engine.deploy_text(render(self.name, self.version), filename="next.yaml")
        assert (result.version, result.created) == (self.version, True)

    @precondition(
        lambda self: any(
            i.version < self.version and i.state not in FINAL for i in self.instances.values()
        )
    )
    @rule(pick=st.integers(0, 10**6))
    def migrate_to_the_latest_version(self, pick: int) -> None:
        """Every running instance of an older version moves to the newest (same states, so no
        map): one ``migrated`` event each, data and pending timers kept."""
        count("model check: steps")
        older = sorted({i.version for i in self.instances.values() if i.version < self.version})
        from_version = older[pick % len(older)]
        moving = [
            i for i in self.instances.values() if i.version == from_version and i.state not in FINAL
        ]
        old_hash = next(
            d.content_hash for d in self.engine.deployed(self.name) if d.version == from_version
        )
        plan = migrate_instances(
            self.itself, MigrationRequest(self.name, from_version, self.version), actor="ops"
        )
        assert sorted(m.instance_id for m in plan.moves) == sorted(i.id for i in moving)
        now = self.clock.now()
        for instance in moving:
            payload = {
                "from_version": from_version,
                "to_version": self.version,
                "from_hash": old_hash,
                "mapping": {},
                "timers_cancelled": [],
                "timers_created": [],
            }
            instance.version = self.version
            instance.log.append(
                Event(
                    "migrated",
                    None,
                    instance.state,
                    instance.state,
                    "ops",
                    (),
                    None,
                    None,
                    payload,
                    dict(instance.data),
                    self.version,
                    now,
                )
            )
        count("model check: instances migrated", len(moving))

    def _apply(
        self,
        instance: ModelInstance,
        trigger: str,
        dest: str,
        actor: Actor,
        payload: dict[str, Any],
        reason: str | None,
        data: dict[str, Any],
        at: datetime | None = None,
    ) -> None:
        now = self.clock.now() if at is None else at
        before = instance.state
        instance.data = data
        if dest != before:
            instance.enter(dest, now)
        instance.log.append(
            Event(
                "transition",
                trigger,
                before,
                dest,
                actor.id,
                tuple(sorted(actor.roles)),
                actor.unit,
                reason,
                payload,
                dict(data),
                instance.version,
                now,
            )
        )
        follow = automatic(instance)
        if follow is not None:
            count("model check: automatic transitions")
            rule, after = follow
            self._apply(instance, rule.trigger, rule.dest, AUTO, {}, None, after, now)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def instances_match_the_model(self) -> None:
        for instance in self.instances.values():
            stored = self.engine.get(instance.id)
            assert (stored.state, dict(stored.data)) == (instance.state, instance.data)
            assert stored.version == len(instance.log)
            assert stored.definition_version == instance.version
            assert stored.active == (instance.state not in {"approved", "rejected", "expired"})

    @invariant()
    def audit_log_matches_the_model_and_its_definitions(self) -> None:
        """The log is the model's log, seq 1..n, and each edge exists in its definition."""
        for instance in self.instances.values():
            events = self.engine.history(instance.id)
            seen = [
                Event(
                    e.kind,
                    e.trigger,
                    e.from_state,
                    e.to_state,
                    e.actor,
                    tuple(e.actor_roles),
                    e.actor_unit,
                    e.reason,
                    dict(e.payload),
                    dict(e.data),
                    e.definition_version,
                    e.occurred_at,
                )
                for e in events
            ]
            assert seen == instance.log
            assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            for event in events:
                self._assert_edge_exists(event)

    def _assert_edge_exists(self, event: Any) -> None:
        version = event.definition_version
        if version not in self.definitions:
            self.definitions[version] = self.engine.definition(self.name, version)
        definition = self.definitions[version]
        if event.kind == "start":
            assert event.to_state == definition.initial_state.name
            return
        if event.kind == "migrated":
            assert event.from_state == event.to_state in definition.state_names
            return
        assert any(
            t.trigger == event.trigger
            and event.from_state in t.sources
            and t.dest == event.to_state
            for t in definition.transitions
        ), event

    @invariant()
    def every_chain_verifies(self) -> None:
        report = self.engine.verify()
        assert report.ok, report.problems


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_engine_agrees_with_the_reference_model(
    backend: str, mode: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Random runs of starts, fires, timers, restarts and deploys never diverge from the model,
    whether the engine is called directly or awaited through the async engine."""
    server = request.getfixturevalue("postgres_server_url") if backend == "postgresql" else None
    pool = DatabasePool(backend, tmp_path, server)
    with start_blocking_portal("asyncio") as portal:
        machine = type(
            f"EngineVersusModel_{backend}_{mode}",
            (EngineVersusModel,),
            {"pool": pool, "portal": portal if mode == "async" else None},
        )
        run_state_machine_as_test(machine, settings=profile())
    assert pool.handed > 0


def test_model_check_counts_refusals_of_workflow_errors_only() -> None:
    """The model only ever predicts the engine's typed errors, never a bare exception."""
    instance = ModelInstance(1, 1, "u1", "draft", {})
    for trigger in TRIGGERS:
        for actor in ACTORS:
            outcome = predict(instance, trigger, actor, {"amount": 5}, "why")
            if isinstance(outcome, type):
                assert issubclass(outcome, WorkflowError)
