"""Every invalid definition gets its message with file, line and key; all problems at once."""

from __future__ import annotations

import json
import textwrap

import pytest

from workflow import DefinitionError, Registry, definition_json_schema, validate_definition

BASE = """\
name: review
labels: {vi: Xét duyệt, en: Review}
roles:
  drafter: {vi: Người soạn, en: Drafter}
  reviewer: {vi: Người duyệt, en: Reviewer}
fields:
  title: {type: string}
  score: {type: integer}
states:
  draft: {initial: true}
  submitted: {}
  approved: {final: true}
transitions:
  - trigger: submit
    source: draft
    dest: submitted
    roles: [drafter]
    guards:
      - required: [title]
  - trigger: approve
    source: submitted
    dest: approved
    roles: [reviewer]
"""


def write(tmp_path, text: str):
    path = tmp_path / "review.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path, text: str, registry: Registry | None = None):
    with pytest.raises(DefinitionError) as caught:
        validate_definition(write(tmp_path, text), registry)
    return caught.value.issues


def test_the_base_definition_is_valid(tmp_path):
    assert validate_definition(write(tmp_path, BASE)).name == "review"


# (description, replacements applied to BASE, expected line, expected message fragment)
INVALID = [
    ("undefined destination", [("dest: approved", "dest: published")], 22,
     "destination state 'published' is not defined"),
    ("unknown role", [("roles: [reviewer]", "roles: [chairman]")], 23,
     "role 'chairman' is not declared"),
    ("unknown key", [("  approved: {final: true}", "  approved: {final: true, colour: red}")],
     12, "unknown key"),
    ("undeclared required field", [("required: [title]", "required: [summary]")], 19,
     "required field 'summary' is not declared"),
    ("unregistered guard function", [("- required: [title]", "- function: looks_ok")], 19,
     "guard function 'looks_ok' is not registered"),
    ("unreachable state", [("  approved: {final: true}",
                            "  approved: {final: true}\n  orphan: {final: true}")], 13,
     "state 'orphan' cannot be reached"),
    ("non-final dead end", [("  approved: {final: true}", "  approved: {final: true}\n  limbo: {}"),
                            ("transitions:\n", "transitions:\n  - {trigger: park, source: draft, "
                             "dest: limbo, roles: [drafter]}\n")], 13,
     "state 'limbo' is not final but has no transition out"),
    ("transition out of a final state", [("source: submitted", "source: approved")], 21,
     "leaves final state 'approved'"),
    ("no initial state", [("  draft: {initial: true}", "  draft: {}")], 9,
     "exactly one state must be initial"),
    ("bad field type", [("score: {type: integer}", "score: {type: decimal}")], 8,
     "Input should be"),
    ("duplicate key", [("  submitted: {}", "  submitted: {}\n  submitted: {}")], 12,
     "duplicate key 'submitted' (first at line 11)"),
    ("broken YAML", [("labels: {vi: Xét duyệt, en: Review}", "labels: [unclosed")], 3,
     "YAML syntax error"),
]


@pytest.mark.parametrize(("edits", "line", "message"),
                         [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_definition_is_reported_with_file_and_line(tmp_path, edits, line, message):
    text = BASE
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    issues = problems(tmp_path, text)
    matching = [i for i in issues if message in i.message]
    assert matching, [str(i) for i in issues]
    assert matching[0].file.endswith("review.yaml")
    assert matching[0].line == line


def test_shadowed_transition_is_reported(tmp_path):
    text = BASE + """\
  - trigger: approve
    source: submitted
    dest: draft
    roles: [reviewer]
"""
    issues = problems(tmp_path, text)
    assert any("can never fire" in i.message and i.line == 24 for i in issues)


def test_every_problem_is_reported_at_once(tmp_path):
    text = BASE.replace("roles: [reviewer]", "roles: [chairman]").replace(
        "dest: submitted", "dest: nowhere")
    messages = " | ".join(i.message for i in problems(tmp_path, text))
    assert "chairman" in messages
    assert "nowhere" in messages


def test_registered_guard_function_is_accepted(tmp_path):
    registry = Registry()
    registry.guard("looks_ok")(lambda ctx: True)
    text = BASE.replace("- required: [title]", "- function: looks_ok")
    assert validate_definition(write(tmp_path, text), registry).name == "review"


@pytest.mark.parametrize(("text", "message"), [
    ("a: &x 1\nb: *x\n", "anchors"),
    ("name: !!python/object:os.system x\n", "tag"),
])
def test_unsafe_or_broken_yaml_is_refused(tmp_path, text, message):
    issues = problems(tmp_path, text)
    assert message in issues[0].message
    assert issues[0].line == 1


def test_guard_text_that_looks_like_code_is_just_an_unknown_name(tmp_path):
    text = BASE.replace("- required: [title]", "- function: \"__import__('os')\"")
    issues = problems(tmp_path, text)
    assert any("is not a name: names are lower_snake_case" in i.message for i in issues)


def test_json_schema_is_exported_for_editors():
    schema = definition_json_schema()
    assert schema["title"] == "workflow definition"
    assert {"name", "labels", "roles", "states"} <= set(schema["required"])
    json.dumps(schema)
