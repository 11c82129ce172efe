"""Retiring versions, disabling workflows, diffing versions: library and CLI, both backends."""

from __future__ import annotations

import json

import pytest
from cli_runner import run_cli
from versions_fixtures import REVIEW_V1, REVIEW_V2, admin_actions

from workflow import Actor, InvalidInput, NotFound, diff_definitions
from workflow.admin import (
    diff_versions,
    parse_version_ref,
    retire_version,
    set_workflow_disabled,
    unretire_version,
)
from workflow.definition.loader import load_text

DRAFTER = Actor("dana", ["drafter"])

V1_TO_V2 = [
    "+ field summary: text",
    "- state review: intermediate",
    "+ state checking: intermediate",
    "+ state revising: intermediate",
    "+ timer checking.remind: remind after P5D",
    "- timer review.remind: remind after P3D",
    "~ transition submit sources: [draft] => [draft, revising]",
    "~ transition submit dest: review => checking",
    "+ guard submit: required [summary]",
    "+ effect submit: merge [summary]",
    "~ transition remind sources: [review] => [checking]",
    "~ transition remind dest: review => checking",
    "+ transition request_changes: [checking] -> revising roles [reviewer]",
    "~ transition approve sources: [review] => [checking]",
    "~ transition approve roles: [reviewer] => [reviewer, drafter]",
]


def test_diff_of_a_known_pair():
    diff = diff_definitions(load_text(REVIEW_V1), load_text(REVIEW_V2))
    assert [str(entry) for entry in diff.entries] == V1_TO_V2


def test_diff_shows_guards_effects_and_timers_of_a_matched_transition_and_state():
    changed = REVIEW_V1.replace("after: P3D", "after: P2D").replace(
        "{trigger: approve, source: review, dest: approved, roles: [reviewer]}",
        "{trigger: approve, source: review, dest: approved, roles: [reviewer], "
        "guards: [{compare: {field: title, op: ne, value: ''}}], effects: [{stamp: title}]}",
    )
    diff = diff_definitions(load_text(REVIEW_V1), load_text(changed))
    assert [str(entry) for entry in diff.entries] == [
        "~ timer review.remind: remind after P3D => remind after P2D",
        '+ guard approve: compare title ne ""',
        "+ effect approve: stamp title",
    ]


def test_diff_of_identical_definitions_is_empty():
    assert diff_definitions(load_text(REVIEW_V1), load_text(REVIEW_V1)).empty


@pytest.mark.parametrize("text", ["review_flow", "review_flow@", "@2", "review_flow@two"])
def test_version_reference_needs_name_and_number(text):
    with pytest.raises(InvalidInput, match="expected NAME@VERSION"):
        parse_version_ref(text)


def test_diff_cli_prints_entries_and_json(engine, database_url, capsys):
    engine.deploy_text(REVIEW_V1, filename="v1.yaml")
    engine.deploy_text(REVIEW_V2, filename="v2.yaml")
    assert diff_versions(engine, "review_flow", 1, 2).entries
    code, out = run_cli(capsys, database_url, "definitions diff review_flow@1 review_flow@2")
    assert (code, out.splitlines()) == (0, ["review_flow@1 -> review_flow@2", *V1_TO_V2])
    code, out = run_cli(capsys, database_url, "definitions diff review_flow@1 review_flow@2 --json")
    assert json.loads(out)["entries"][0] == {
        "change": "added",
        "kind": "field",
        "subject": "summary",
        "before": None,
        "after": "text",
    }


def test_retired_version_starts_nothing_but_its_instances_run_on(engine):
    engine.deploy_text(REVIEW_V1, filename="v1.yaml")
    running = engine.start("review_flow", DRAFTER).instance.id
    engine.deploy_text(REVIEW_V2, filename="v2.yaml")
    change = retire_version(engine, "review_flow", 2, actor="root")
    assert change.changed
    assert engine.start("review_flow", DRAFTER).instance.definition_version == 1
    assert engine.fire(running, "submit", DRAFTER).instance.state == "review"
    assert admin_actions(engine)[-1] == ("retire", "review_flow@2")
    assert [d.retired for d in engine.deployed("review_flow")] == [False, True]


def test_retiring_twice_is_a_no_op_that_says_so(engine):
    engine.deploy_text(REVIEW_V1, filename="v1.yaml")
    retire_version(engine, "review_flow", 1)
    events = admin_actions(engine)
    assert not retire_version(engine, "review_flow", 1).changed
    assert admin_actions(engine) == events


def test_an_unretired_version_is_started_again(engine):
    engine.deploy_text(REVIEW_V1, filename="v1.yaml")
    engine.deploy_text(REVIEW_V2, filename="v2.yaml")
    retire_version(engine, "review_flow", 2)
    assert engine.start("review_flow", DRAFTER).instance.definition_version == 1
    assert unretire_version(engine, "review_flow", 2, actor="root").changed
    assert engine.start("review_flow", DRAFTER).instance.definition_version == 2
    assert admin_actions(engine)[-1] == ("unretire", "review_flow@2")


def test_unretiring_a_version_in_service_is_a_no_op_that_says_so(engine):
    engine.deploy_text(REVIEW_V1, filename="v1.yaml")
    events = admin_actions(engine)
    assert not unretire_version(engine, "review_flow", 1).changed
    assert admin_actions(engine) == events


def test_retiring_an_unknown_version_is_not_found(engine):
    engine.deploy_text(REVIEW_V1, filename="v1.yaml")
    with pytest.raises(NotFound, match="review_flow@7"):
        retire_version(engine, "review_flow", 7)


def test_disabled_workflow_starts_nothing_until_enabled(engine):
    engine.deploy_text(REVIEW_V1, filename="v1.yaml")
    running = engine.start("review_flow", DRAFTER).instance.id
    assert set_workflow_disabled(engine, "review_flow", True).changed
    with pytest.raises(InvalidInput, match="review_flow is disabled"):
        engine.start("review_flow", DRAFTER)
    assert engine.fire(running, "submit", DRAFTER).instance.state == "review"
    assert set_workflow_disabled(engine, "review_flow", False).changed
    assert engine.start("review_flow", DRAFTER).instance.state == "draft"
    assert admin_actions(engine)[-2:] == [("disable", "review_flow"), ("enable", "review_flow")]


def test_retire_disable_and_enable_through_the_cli(engine, database_url, capsys):
    engine.deploy_text(REVIEW_V1, filename="v1.yaml")
    assert run_cli(capsys, database_url, "definitions retire review_flow@1") == (
        0,
        "retired review_flow@1\n",
    )
    assert run_cli(capsys, database_url, "definitions unretire review_flow@1")[1] == (
        "unretired review_flow@1\n"
    )
    assert run_cli(capsys, database_url, "definitions disable review_flow")[1] == (
        "disabled review_flow\n"
    )
    assert run_cli(capsys, database_url, "definitions disable review_flow")[1] == (
        "already disabled: review_flow\n"
    )
    assert run_cli(capsys, database_url, "definitions enable review_flow")[1] == (
        "enabled review_flow\n"
    )


def test_starting_when_every_version_is_retired_says_so(engine):
    engine.deploy_text(REVIEW_V1, filename="v1.yaml")
    retire_version(engine, "review_flow", 1)
    with pytest.raises(InvalidInput, match="every version of review_flow is retired"):
        engine.start("review_flow", DRAFTER)
