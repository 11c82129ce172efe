"""Expressions (CEL) in guards and effects: what they compute, what the validator refuses, and that
our compiled closures agree with cel-python's own interpreter on every case both can run."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import celpy
import pytest

from workflow.definition import model as m
from workflow.definition.expressions import (
    EvaluationError,
    ExpressionProblem,
    Scope,
    compile_expression,
)

FIELDS = {
    name: m.FieldSpec(name, kind)  # type: ignore[arg-type]
    for name, kind in {
        "order_total": "number",
        "payments_total": "number",
        "amount": "number",
        "count": "integer",
        "note": "text",
        "done": "boolean",
        "tags": "list",
        "extra": "object",
        "due_at": "datetime",
        "approver": "string",
    }.items()
}
NOW = datetime(2020, 9, 7, 1, 0, tzinfo=UTC)
DATA = {
    "order_total": 150.0,
    "payments_total": 100.0,
    "count": 7,
    "note": "Kế hoạch số 19",
    "done": False,
    "tags": ["plan", "urgent"],
    "extra": {"k": 1},
    "due_at": "2020-09-15T00:00:00+07:00",
}


def run(text: str, payload: dict | None = None, *, data: dict | None = None) -> object:
    program = compile_expression(text, FIELDS)
    scope = Scope(DATA if data is None else data, payload or {}, NOW, "lan", frozenset({"clerk"}),
                  "open")
    return program.run(scope)


VALUES = [
    ("payments_total + payload.amount >= order_total", {"amount": 50.0}, True),
    ("payments_total + payload.amount >= order_total", {"amount": 10.0}, False),
    ("order_total - payments_total", {}, 50.0),
    ("count * 3 + 1", {}, 22),
    ("count / 2", {}, 3),
    ("-7 / 2", {}, -3),
    ("-7 % 2", {}, -1),
    ("count % 4 == 3", {}, True),
    ("note.startsWith('Kế') && note.endsWith('19')", {}, True),
    ("note.contains('số') ? 'yes' : 'no'", {}, "yes"),
    ("size(note)", {}, 14),
    ("note.size() > 3", {}, True),
    ("'urgent' in tags", {}, True),
    ("tags + ['late']", {}, ["plan", "urgent", "late"]),
    ("size(tags) == 2 && !done", {}, True),
    ("'k' in extra && extra.k == 1", {}, True),
    ("extra['k'] == 1", {}, True),
    ("tags[0]", {}, "plan"),
    ("double(count) + payload.amount", {"amount": 0.5}, 7.5),
    ("int(payload.amount)", {"amount": 2.9}, 2),
    ("string(count) + ' items'", {}, "7 items"),
    ("has(payload.amount)", {"amount": 1.0}, True),
    ("has(data.amount)", {"amount": 1.0}, False),
    ("has(payload.amount) ? payload.amount : 0.0", {}, 0.0),
    ("order_total > 100.0 || note.size() > 1000", {}, True),
]


@pytest.mark.parametrize(("text", "payload", "expected"), VALUES, ids=[v[0] for v in VALUES])
def test_expression_values(text: str, payload: dict, expected: object) -> None:
    assert run(text, payload) == expected


@pytest.mark.parametrize(("text", "payload", "expected"), VALUES, ids=[v[0] for v in VALUES])
def test_cel_python_agrees(text: str, payload: dict, expected: object) -> None:
    """The same text through cel-python's reference interpreter gives the same value."""
    env = celpy.Environment()
    program = env.program(env.compile(text))
    activation = {name: celpy.json_to_cel(value) for name, value in DATA.items()}
    activation["data"] = celpy.json_to_cel(DATA)
    activation["payload"] = celpy.json_to_cel(payload)
    assert program.evaluate(activation) == celpy.json_to_cel(expected)


def test_time_and_durations() -> None:
    assert run("now < due_at") is True
    assert run("due_at - now > duration('72h')") is True
    assert run("now + duration('1.5h')") == NOW + timedelta(minutes=90)
    assert run("timestamp('2020-09-07T08:00:00+07:00') == now") is True
    assert run("string(now)") == "2020-09-07T01:00:00.000000Z"


def test_a_bare_name_reads_the_data_never_the_payload() -> None:
    """What the caller claims (a payload field) is read only as payload.x."""
    assert run("payments_total", {"payments_total": 150.0}) == 100.0
    assert run("payload.payments_total", {"payments_total": 150.0}) == 150.0
    with pytest.raises(EvaluationError, match="amount is missing"):
        run("amount > 0.0", {"amount": 5.0})


def test_actor_and_state() -> None:
    assert run("actor.id == 'lan' && 'clerk' in actor.roles && state == 'open'") is True


REFUSED = [
    ("payments_total + amont >= order_total", "unknown field 'amont'"),
    ("order_total + 1 > 0.0", "no operator double + int (write 1.0"),
    ("note + 1", "no operator string + int"),
    ("note > 3", "no order between string and int"),
    ("count == note", "int == string: compare like with like"),
    ("count == 1.0", "int == double: compare like with like (write 1.0"),
    ("payload.amount > 0", "no order between double and int"),
    ("done ? 1 : 'x'", "branches of ? : differ"),
    ("order_total && done", "must be bool, not double"),
    ("[1, 2].all(x, x > 0)", "no loops"),
    ("note.matches('a+')", "no regular expressions"),
    ("{'a': 1}", "a map literal"),
    ("duration('3 days')", "not a CEL duration"),
    ("note.lower()", "unknown function .lower()"),
    ("exec('x')", "unknown function exec()"),
    ("__import__('os')", "unknown function"),
    ("b'x' == b'x'", "string prefixes"),
    ("note == 'abc", "is not closed"),
    ("note == '\\d'", "may only escape"),
    ("note ==", "not a CEL expression"),
    ("9223372036854775808 > 0", "does not fit a 64-bit integer"),
    ("(" * 40 + "count" + ")" * 40 + " > 0", "nested more than"),
    ("size([" + ",".join(["1"] * 250) + "]) > 0", "more than 200 operations"),
    ("x" * 1001, "an expression has at most 1,000"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED, ids=[r[1] for r in REFUSED])
def test_validator_refuses(text: str, message: str) -> None:
    with pytest.raises(ExpressionProblem, match=re.escape(message)):
        compile_expression(text, FIELDS, guard=True)


def test_a_guard_must_be_boolean_and_a_value_must_fit_its_field() -> None:
    with pytest.raises(ExpressionProblem, match="a guard must be true or false, but this is dou"):
        compile_expression("order_total + 1.0", FIELDS, guard=True)
    with pytest.raises(ExpressionProblem, match="this is string, which a number field cannot hold"):
        compile_expression("note", FIELDS, result="number")
    assert compile_expression("count + 1", FIELDS, result="number").type == "int"


@pytest.mark.parametrize(("text", "payload", "message", "missing"), [
    ("payments_total + payload.amount >= order_total", {}, "payload.amount is missing", "amount"),
    ("payload.amount > 1.0", {"amount": "ten"}, "payload.amount must be double, not string", None),
    ("count * 9223372036854775807 > 0", {}, "integer overflow", None),
    ("count / (count - 7) > 0", {}, "division by zero", None),
    ("tags[5] == 'x'", {}, "out of range", None),
])
def test_evaluation_errors(text: str, payload: dict, message: str, missing: str | None) -> None:
    with pytest.raises(EvaluationError, match=message) as raised:
        run(text, payload)
    assert raised.value.missing == missing


def test_or_absorbs_an_error_when_the_other_side_decides() -> None:
    """CEL's logic is commutative: `error || true` is true, `error && false` is false."""
    assert run("payload.amount > 0.0 || count > 0") is True
    assert run("payload.amount > 0.0 && count < 0") is False
    with pytest.raises(EvaluationError, match=r"payload\.amount is missing"):
        run("payload.amount > 0.0 || count < 0")
