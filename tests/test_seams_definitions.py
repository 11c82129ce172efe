"""Issue 14: what the validator accepts, the engine honours, and deploy deploys.

Constants are checked against their field types (``set``, ``stamp``, ``compare``), numbers that
are no JSON value are refused while reading, names that ``transitions`` once reserved (``state``)
deploy and fire, and a deploy that fails to build its machine writes nothing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from workflow import Actor, DefinitionError, Engine, validate_definition

BASE = """\
name: seams
labels: {vi: Đường nối, en: Seams}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
fields:
  done: {type: boolean}
  amount: {type: number}
  count: {type: integer}
  title: {type: string}
  due: {type: datetime}
  day: {type: date}
  tags: {type: list}
states:
  open: {initial: true}
  closed: {final: true}
transitions:
  - trigger: close
    source: open
    dest: closed
    roles: [clerk]
    guards:
      - compare: {field: amount, op: ge, value: 1}
    effects:
      - set: {field: done, value: true}
"""

GUARD = "      - compare: {field: amount, op: ge, value: 1}"
EFFECT = "      - set: {field: done, value: true}"


def issues(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "seams.yaml"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        validate_definition(path)
    return [str(issue) for issue in caught.value.issues]


def test_the_base_is_valid(tmp_path):
    path = tmp_path / "seams.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert validate_definition(path).name == "seams"


# (case, the effect line, the expected message fragment); each refusal is on line 24
BAD_EFFECTS = [
    ("text into a boolean", '      - set: {field: done, value: "yes"}',
     'set done = "yes": boolean field \'done\' must be true or false'),
    ("a number into text", "      - set: {field: title, value: 3}", "must be text"),
    ("a fraction into an integer", "      - set: {field: count, value: 1.5}",
     "must be a whole number"),
    ("a timestamp into a number", "      - set: {field: amount, value: 2020-09-07T08:00:00Z}",
     "must be a number"),
    ("a scalar into a list", "      - set: {field: tags, value: a}", "must be a list"),
    ("a stamp into a number", "      - stamp: amount",
     "stamp amount: a stamp writes an instant"),
    ("a stamp into a date", "      - stamp: day", "(declare it type: datetime)"),
]


@pytest.mark.parametrize(("line", "message"), [c[1:] for c in BAD_EFFECTS],
                         ids=[c[0] for c in BAD_EFFECTS])
def test_an_effect_whose_value_does_not_fit_its_field_is_refused(tmp_path, line, message):
    found = issues(tmp_path, BASE.replace(EFFECT, line))
    assert len(found) == 1, found
    assert "seams.yaml:24: [transitions[0].effects[0]" in found[0]
    assert message in found[0]


# (case, the compare, the expected message fragment); each refusal is on line 22
IMPOSSIBLE = [
    ("text against a number", "{field: amount, op: eq, value: 'x'}",
     "amount eq \"x\": number field 'amount' never matches this value"),
    ("in with one scalar", "{field: title, op: in, value: x}",
     'in takes a list of values (write value: ["x"])'),
    ("not_in with one scalar", "{field: amount, op: not_in, value: 3}",
     "not_in takes a list of values (write value: [3])"),
    ("an item of the wrong type", "{field: amount, op: in, value: [1, a]}",
     "\"a\" never matches number field 'amount'"),
    ("ordering on a boolean", "{field: done, op: lt, value: true}",
     "boolean field 'done' has no order"),
    ("ordering on a list", "{field: tags, op: gt, value: [1]}", "list field 'tags' has no order"),
    ("ordering against null", "{field: amount, op: ge, value: null}",
     "nothing is ordered against null"),
    ("a mapping for a constant", "{field: amount, op: eq, value: {field: title}}",
     "the value is a mapping"),
    ("through payload.", "{field: payload.amount, op: eq, value: 'x'}",
     "number field 'amount' never matches"),
    ("inside not", "{field: amount, op: eq, value: 'x'}}}", "never matches"),
]


@pytest.mark.parametrize(("compare", "message"), [c[1:] for c in IMPOSSIBLE],
                         ids=[c[0] for c in IMPOSSIBLE])
def test_a_comparison_that_can_never_pass_is_refused(tmp_path, compare, message):
    guard = f"      - compare: {compare}"
    if compare.endswith("}}}"):
        guard = "      - not: {compare: " + compare[:-1]
    found = issues(tmp_path, BASE.replace(GUARD, guard))
    assert len(found) == 1, found
    assert "seams.yaml:22: [transitions[0].guards[0]" in found[0]
    assert message in found[0]


@pytest.mark.parametrize("compare", [
    "{field: amount, op: lt, value: 2.5}",
    "{field: count, op: ge, value: 2.5}",
    "{field: title, op: lt, value: m}",
    "{field: title, op: in, value: [a, b]}",
    "{field: done, op: eq, value: false}",
    "{field: amount, op: eq, value: null}",
    "{field: due, op: lt, value: '2020-09-07T08:00:00+07:00'}",
    "{field: tags, op: eq, value: [a]}",
])
def test_a_comparison_that_can_pass_is_accepted(tmp_path, compare):
    path = tmp_path / "seams.yaml"
    path.write_text(BASE.replace(GUARD, f"      - compare: {compare}"), encoding="utf-8")
    assert validate_definition(path).name == "seams"


# (case, the compared value as written, the expected message fragment)
NOT_JSON = [
    ("nan", ".nan", ".nan is not a number a definition can hold"),
    ("infinity", "-.inf", "-.inf is not a number a definition can hold"),
    ("thousands of digits", "9" * 5000, "has 5,000 digits; the limit is 30"),
    ("too many digits for json", "9" * 4000, "has 4,000 digits"),
]


@pytest.mark.parametrize(("value", "message"), [c[1:] for c in NOT_JSON],
                         ids=[c[0] for c in NOT_JSON])
def test_a_number_that_is_no_json_value_is_refused_while_reading(tmp_path, value, message):
    found = issues(tmp_path, BASE.replace("value: 1}", f"value: {value}}}"))
    assert len(found) == 1, found
    assert "seams.yaml:22: [transitions[0].guards[0].compare.value]" in found[0]
    assert message in found[0]


# (case, the edit, the expected message)
HINTS = [
    ("upper-case state", ("  open: {initial: true}", "  Open: {initial: true}"),
     "seams.yaml:14: [states.Open] 'Open' is not a name: names are lower_snake_case "
     "(a-z, 0-9 and _, a letter first), e.g. 'open'"),
    ("a label with a comma in a flow mapping",
     ("labels: {vi: Đường nối, en: Seams}", "labels: {vi: Đường nối, mối hàn, en: Seams}"),
     "seams.yaml:2: [labels.mối hàn] unknown key 'mối hàn': a label holding a comma inside "
     "{...} is split there; quote the label"),
    ("a bad op quotes it", ("op: ge", "op: greater"), "(found 'greater')"),
]


@pytest.mark.parametrize(("edit", "message"), [c[1:] for c in HINTS], ids=[c[0] for c in HINTS])
def test_a_shape_message_quotes_the_value_and_gives_the_fix(tmp_path, edit, message):
    found = issues(tmp_path, BASE.replace(*edit))
    assert any(message in issue for issue in found), found


def test_a_bad_name_gets_one_message_not_one_per_form_of_the_key(tmp_path):
    found = issues(tmp_path, BASE.replace("source: open", "source: Open"))
    source = [issue for issue in found if "[transitions[0].source]" in issue]
    assert len(source) == 1, found
    assert "'Open' is not a name" in source[0]


# Names the state machine library binds on a model, or refuses as a trigger (`state`).
LIBRARY_NAMES = ["state", "trigger", "may_trigger", "is_open", "may_close", "to_closed",
                 "machine", "models", "events"]


@pytest.mark.parametrize("name", LIBRARY_NAMES)
def test_a_trigger_named_like_a_library_attribute_deploys_and_fires(engine, name):
    unguarded = BASE.replace("    guards:\n" + GUARD + "\n", "")
    source = unguarded.replace("trigger: close", f"trigger: {name}")
    engine.deploy_text(source, filename="seams.yaml")
    clerk = Actor("c1", ["clerk"])
    started = engine.start("seams", clerk).instance
    assert engine.fire(started.id, name, clerk).state == "closed"


def test_a_deploy_whose_machine_cannot_be_built_writes_nothing(engine, monkeypatch):
    import workflow.catalog

    def refuse(*args: object) -> None:
        raise ValueError("no machine")

    monkeypatch.setattr(workflow.catalog, "CompiledMachine", refuse)
    with pytest.raises(DefinitionError, match="the state machine cannot be built: no machine"):
        engine.deploy_text(BASE, filename="seams.yaml")
    with engine.db.connect() as conn:
        definitions = conn.execute(text("SELECT count(*) FROM definitions")).scalar_one()
        admin = conn.execute(text("SELECT count(*) FROM admin_events")).scalar_one()
    assert (definitions, admin) == (0, 0)


HOSTILE = sorted(
    [*Path(__file__).parent.joinpath("corpus", "definitions").glob("*.yaml"),
     *Path(__file__).parents[1].joinpath("definitions").glob("*.yaml"),
     *Path(__file__).parents[1].joinpath("examples").rglob("*.yaml")]
)


@pytest.mark.parametrize("path", HOSTILE, ids=[p.name for p in HOSTILE])
def test_whatever_validates_deploys(engine: Engine, path: Path):
    try:
        engine.validate_file(path)
    except DefinitionError:
        return  # refused at validate time: deploy refuses it too (test_reliability_*)
    assert engine.deploy(path, actor="t").version >= 1
