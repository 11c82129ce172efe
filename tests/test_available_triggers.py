"""``Engine.available_triggers``: which triggers an actor may fire now, and why the others are
closed (state, role, unit, guard), in one read; and it agrees with ``fire`` on every trigger in
every reachable state of the shipped definitions."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import pytest
from cli_runner import run_cli

from workflow import (
    Actor,
    Definition,
    Engine,
    GuardFailed,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    WorkflowError,
)
from workflow.catalog import compile_machine, validate_definition
from workflow.registry import default_registry
from workflow.shipped import definition_files

SCOPED = """\
name: scoped
labels: {vi: Phạm vi, en: Scoped}
roles:
  writer: {vi: Người soạn, en: Writer}
  helper: {vi: Phối hợp, en: Helper}
fields:
  title: {type: text}
states:
  draft: {initial: true}
  review: {}
  done: {final: true}
transitions:
  - trigger: finish
    source: draft
    dest: review
    roles: [writer]
    units: own
    guards: [{required: [title]}]
    effects: [{merge: [title]}]
  - trigger: comment
    source: draft
    dest: draft
    roles: [helper]
    units: coordinating
  - trigger: reopen
    source: review
    dest: draft
    roles: [writer]
  - trigger: close
    source: review
    dest: done
    roles: [writer]
"""


def _menu(engine: Engine, instance_id: int, actor: Actor, **kwargs: Any) -> dict[str, Any]:
    menu = engine.available_triggers(instance_id, actor, **kwargs)
    return {o.trigger: o for o in menu.options}


@pytest.fixture
def scoped(engine: Engine) -> tuple[Engine, int]:
    engine.deploy_text(SCOPED, filename="scoped.yaml")
    started = engine.start(
        "scoped", Actor("w", ["writer"], "u1"), unit="u1", coordinating_units=["u2"]
    )
    return engine, started.instance.id


def test_each_closed_trigger_says_why(scoped: tuple[Engine, int]) -> None:
    """Role, unit, guard (with the missing fields) and state each close a trigger."""
    engine, instance_id = scoped
    menu = _menu(engine, instance_id, Actor("w", ["writer"], "u1"))
    assert (menu["finish"].allowed, menu["finish"].closed_by) == (False, "guard")
    assert menu["finish"].missing_fields == ("title",)
    assert menu["comment"].closed_by == "role"
    assert menu["reopen"].closed_by == "state"

    elsewhere = _menu(engine, instance_id, Actor("w2", ["writer"], "u9"))
    assert elsewhere["finish"].closed_by == "unit"
    assert "not the own unit" in elsewhere["finish"].reasons[0]

    helper = _menu(engine, instance_id, Actor("h", ["helper"], "u2"))
    assert (helper["comment"].allowed, helper["comment"].dest) == (True, "draft")


def test_a_draft_payload_opens_a_guarded_trigger(scoped: tuple[Engine, int]) -> None:
    engine, instance_id = scoped
    writer = Actor("w", ["writer"], "u1")
    menu = engine.available_triggers(instance_id, writer, payload={"title": "Kế hoạch"})
    assert menu.allowed == ("finish",)
    assert menu.option("finish").dest == "review"
    assert menu.instance.version == 1  # reading changed nothing
    assert engine.get(instance_id).version == 1


def test_the_menu_follows_the_state(scoped: tuple[Engine, int]) -> None:
    """Each state opens its own triggers; a final state opens none."""
    engine, instance_id = scoped
    writer = Actor("w", ["writer"], "u1")
    engine.fire(instance_id, "finish", writer, payload={"title": "x"})
    menu = engine.available_triggers(instance_id, writer)
    assert menu.allowed == ("reopen", "close")
    assert {o.trigger: o.closed_by for o in menu.options} == {
        "finish": "state",
        "comment": "state",
        "reopen": None,
        "close": None,
    }
    engine.fire(instance_id, "close", writer)
    assert engine.available_triggers(instance_id, writer).allowed == ()


def test_an_unknown_instance_is_not_found(engine: Engine, clerk: Actor) -> None:
    with pytest.raises(NotFound):
        engine.available_triggers(999, clerk)


def test_the_cli_lists_the_triggers(
    scoped: tuple[Engine, int], capsys: pytest.CaptureFixture[str]
) -> None:
    engine, instance_id = scoped
    engine.add_actor("w", ["writer"], unit="u1")
    code, output = run_cli(capsys, engine.url, f"triggers {instance_id} --actor w --json")
    assert code == 0, output
    listed = json.loads(output)
    assert listed["version"] == 1
    assert [(t["trigger"], t["allowed"], t["closed_by"]) for t in listed["triggers"]] == [
        ("finish", False, "guard"),
        ("comment", False, "role"),
        ("reopen", False, "state"),
        ("close", False, "state"),
    ]
    code, output = run_cli(capsys, engine.url, f"triggers {instance_id} --actor w")
    assert code == 0
    assert "missing required fields: title" in output


# --- the property: allowed <=> fire succeeds, over every shipped definition ----------------------

_SAMPLE = {
    "string": "x",
    "text": "x",
    "integer": 2020,
    "number": 1,
    "list": ["x"],
    "object": {"x": 1},
    "date": "2020-09-15",
    "datetime": "2020-09-15T08:00:00+07:00",
}


def _payloads(definition: Definition) -> list[dict[str, Any]]:
    """Nothing; every field filled with booleans true; the same with booleans false."""
    fields = definition.fields
    full = {n: _SAMPLE.get(f.type, "x") for n, f in fields.items() if f.type != "boolean"}
    flags = [n for n, f in fields.items() if f.type == "boolean"]
    return [{}, {**full, **dict.fromkeys(flags, True)}, {**full, **dict.fromkeys(flags, False)}]


def _actors(definition: Definition) -> list[Actor]:
    roles = list(definition.roles)
    return [
        *(Actor(f"one-{r}", [r], "u1") for r in roles),
        Actor("all-own", roles, "u1"),
        Actor("all-coordinating", roles, "u2"),
        Actor("all-elsewhere", roles, "u9"),
        Actor.system(),
    ]


_EXPECTED_ERROR = {
    "state": TransitionNotAllowed,
    "role": PermissionDenied,
    "unit": PermissionDenied,
    "guard": GuardFailed,
}

Step = tuple[str, Actor, dict[str, Any]]


def _walk(engine: Engine, workflow: str, path: list[Step]) -> int:
    starter = Actor("starter", ["system", *engine.definition(workflow).roles], "u1")
    instance_id = engine.start(
        workflow, starter, unit="u1", coordinating_units=["u2"]
    ).instance.id
    for trigger, actor, payload in path:
        engine.fire(instance_id, trigger, actor, payload=payload, reason="r")
    return instance_id


def test_available_triggers_agrees_with_fire_on_the_shipped_definitions(engine: Engine) -> None:
    """For every state reachable in every shipped definition, every trigger, several actors
    and payloads: an allowed trigger fires (to its ``dest``); a closed one is refused with the
    error its ``closed_by`` names, with the same reasons and missing fields."""
    for path in definition_files():
        engine.deploy(path)
    checked = 0
    for path in definition_files():
        workflow = path.stem
        definition = engine.definition(workflow)
        paths: dict[str, list[Step]] = {definition.initial_state.name: []}
        queue = deque(paths)
        while queue:
            state = queue.popleft()
            instance_id = _walk(engine, workflow, paths[state])
            allowed: list[Step] = []
            for actor in _actors(definition):
                for payload in _payloads(definition):
                    menu = engine.available_triggers(instance_id, actor, payload=payload)
                    assert menu.instance.state == state
                    for option in menu.options:
                        checked += 1
                        if option.allowed:
                            allowed.append((option.trigger, actor, payload))
                            continue
                        with pytest.raises(WorkflowError) as refused:
                            engine.fire(instance_id, option.trigger, actor, payload=payload,
                                        reason="r")  # fmt: skip
                        assert type(refused.value) is _EXPECTED_ERROR[str(option.closed_by)]
                        if isinstance(refused.value, GuardFailed):
                            assert refused.value.missing_fields == option.missing_fields
                            assert refused.value.reasons == option.reasons
            for trigger, actor, payload in allowed:
                moved = _walk(engine, workflow, paths[state])
                expected = engine.available_triggers(moved, actor, payload=payload)
                result = engine.fire(moved, trigger, actor, payload=payload, reason="r")
                assert result.instance.state == expected.option(trigger).dest
                if result.instance.state not in paths:
                    paths[result.instance.state] = [*paths[state], (trigger, actor, payload)]
                    queue.append(result.instance.state)
        assert set(paths) == set(definition.state_names), workflow  # every state was visited
    assert checked > 500


def test_the_plan_a_step_walks_is_the_compiled_machines_table() -> None:
    """Every (trigger, source state) of every shipped definition: the transitions a step tries,
    in order, are the ones ``transitions`` compiled for that event from that state."""
    compared = 0
    for path in definition_files():
        compiled = compile_machine(validate_definition(path), default_registry)
        table = compiled.machine.events
        for trigger, event in table.items():
            for state, compiled_transitions in event.transitions.items():
                tried = compiled.plan(trigger, state)
                assert [(state, s.dest) for s in tried] == [
                    (t.source, t.dest) for t in compiled_transitions
                ], (path.name, trigger, state)
                compared += 1
        states = compiled.definition.state_names
        for trigger in compiled.definition.triggers:
            for state in states:
                if state not in table[trigger].transitions:
                    assert compiled.plan(trigger, state) == ()
    assert compared > 30
