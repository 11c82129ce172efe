"""What a definition can now say beyond guards and effects, on both backends: effects on entering
and leaving a state, automatic transitions, an approver named at run time, a relative timer
that makes an instance overdue, and coordinating units given at start; each replayed by verify."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cli_runner import run_cli

from workflow import Actor, DefinitionError, Engine, FrozenClock, PermissionDenied
from workflow.definition.loader import load_text
from workflow.timers import due_instances

FLOW = """
name: flow
labels: {vi: Luồng, en: Flow}
roles: {clerk: null, boss: null}
fields:
  entered: {type: integer}
  left: {type: string}
  amount: {type: number}
  approver: {type: string}
  checked_at: {type: datetime}
states:
  open:
    initial: true
    on_exit: [{compute: {left: "state"}}]
  review:
    on_enter: [{compute: {entered: "(has(data.entered) ? entered : 0) + 1"}}]
    timers: [{trigger: remind, after: P2D, deadline: true}]
  checked:
    on_enter: [{stamp: checked_at}]
  done: {final: true}
transitions:
  - {trigger: submit, source: open, dest: review, roles: [clerk],
     effects: [{merge: [amount, approver]}]}
  - {trigger: note, source: review, dest: review, roles: [clerk]}
  - {trigger: remind, source: review, dest: review, roles: [system]}
  - trigger: approve
    source: review
    dest: checked
    roles: [boss]
    actors: [approver]
  - trigger: send_back
    source: review
    dest: open
    roles: [boss]
    actors: [approver]
  - trigger: close_small
    source: checked
    dest: done
    roles: [system]
    automatic: true
    guards: [{expr: "amount < 100.0"}]
  - {trigger: close, source: checked, dest: done, roles: [boss]}
"""
CLERK = Actor("lan", ["clerk"])
BOSS = Actor("minh", ["boss"])
OTHER_BOSS = Actor("hoa", ["boss"])


@pytest.fixture
def flow(engine: Engine) -> Engine:
    engine.deploy_text(FLOW, filename="flow.yaml")
    return engine


def _submitted(engine: Engine, amount: float) -> int:
    instance = engine.start("flow", CLERK).instance
    engine.fire(instance.id, "submit", CLERK, payload={"amount": amount, "approver": "minh"})
    return instance.id


def test_entry_and_exit_effects_run_on_a_change_of_state_only(flow: Engine) -> None:
    instance_id = _submitted(flow, 500)
    assert flow.get(instance_id).data["entered"] == 1
    assert flow.get(instance_id).data["left"] == "open"
    flow.fire(instance_id, "note", CLERK)  # a self-transition enters and leaves nothing
    assert flow.get(instance_id).data["entered"] == 1
    flow.fire(instance_id, "send_back", BOSS)
    flow.fire(instance_id, "submit", CLERK, payload={"amount": 500, "approver": "minh"})
    assert flow.get(instance_id).data["entered"] == 2
    assert flow.verify().ok


def test_only_the_named_actor_may_fire(flow: Engine) -> None:
    instance_id = _submitted(flow, 500)
    with pytest.raises(PermissionDenied, match=r"needs to be the actor named in approver \(minh\)"):
        flow.fire(instance_id, "approve", OTHER_BOSS)
    assert flow.fire(instance_id, "approve", BOSS).state == "checked"
    assert flow.verify().ok


def test_an_automatic_transition_follows_in_the_same_transaction(flow: Engine) -> None:
    small = _submitted(flow, 50)
    result = flow.fire(small, "approve", BOSS, idempotency_key="approve-small")
    assert (result.state, result.event.trigger, result.event.to_state) == (
        "done", "approve", "checked"
    )
    events = [(e.trigger, e.actor, e.to_state) for e in flow.history(small)][-2:]
    assert events == [("approve", "minh", "checked"), ("close_small", "system:auto", "done")]
    assert flow.get(small).data["checked_at"]  # the entry effect of the state passed through
    again = flow.fire(small, "approve", BOSS, idempotency_key="approve-small")
    assert again.replayed
    assert again.event.seq == result.event.seq
    large = _submitted(flow, 500)
    assert flow.fire(large, "approve", BOSS).state == "checked"  # its guard does not hold
    assert flow.verify().ok


def test_a_deadline_timer_makes_the_instance_overdue(flow: Engine, clock: FrozenClock) -> None:
    instance_id = _submitted(flow, 500)
    clock.advance(timedelta(days=2, seconds=1))
    assert [i.id for i in due_instances(flow, overdue=True)] == [instance_id]
    flow.fire(instance_id, "note", CLERK)  # staying in the state keeps its deadline
    assert [i.id for i in due_instances(flow, overdue=True)] == [instance_id]
    flow.fire(instance_id, "approve", BOSS)
    assert due_instances(flow, overdue=True) == []


@pytest.mark.parametrize(("change", "message"), [
    (("close_small\n    source: checked\n    dest: done",
      "close_small\n    source: checked\n    dest: review"),
     "automatic transitions loop"),
    (("dest: done\n    roles: [system]\n    automatic: true",
      "dest: done\n    roles: [boss]\n    automatic: true"),
     "must have roles: [system]"),
    (("amount: {type: number}\n  approver: {type: string}",
      "amount: {type: number}\n  approver: {type: integer}"),
     "actors field 'approver' must name a declared string field"),
    (("{trigger: close, source: checked", "{trigger: close_small, source: checked"),
     "trigger 'close_small' is automatic elsewhere"),
])
def test_the_validator_refuses(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in FLOW
    source = FLOW.replace(old, new, 1)
    if "dest: review" in new:  # a way back to checked without a person, to close the loop
        source = source.replace(
            "  - trigger: send_back",
            "  - {trigger: recheck, source: review, dest: checked, roles: [system], "
            "automatic: true, guards: [{expr: 'amount > 1000.0'}]}\n  - trigger: send_back",
        )
    with pytest.raises(DefinitionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_text(source, "flow.yaml")


def test_start_takes_coordinating_units_from_the_command_line(
    database_url: str, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    (tmp_path / "help.yaml").write_text(
        "name: help\nlabels: {vi: Giúp, en: Help}\nroles: {adviser: null}\nstates:\n"
        "  open: {initial: true}\n  done: {final: true}\ntransitions:\n"
        "  - {trigger: advise, source: open, dest: done, roles: [adviser], units: coordinating}\n",
        encoding="utf-8",
    )
    for command in (
        f"definitions deploy {tmp_path / 'help.yaml'}",
        "actors add btg --role adviser --unit ban_tuyen_giao",
        "actors add btc --role adviser --unit ban_to_chuc",
        "start help --actor btg --unit chi_bo --coordinating ban_tuyen_giao --coordinating x",
    ):
        code, out = run_cli(capsys, database_url, command)
        assert code == 0, out
    code, out = run_cli(capsys, database_url, "fire 1 advise --actor btc")
    assert code == 1
    code, out = run_cli(capsys, database_url, "show 1 --json")
    assert '"ban_tuyen_giao",\n    "x"' in out
    code, out = run_cli(capsys, database_url, "fire 1 advise --actor btg")
    assert (code, out) == (0, "instance 1: open -> done (version 2)\n")
