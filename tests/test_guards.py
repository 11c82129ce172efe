"""The built-in guard vocabulary, as a table of rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflow import GuardContext, Registry
from workflow.definition import model as m
from workflow.registry import evaluate_guard

DATA = {"amount": 120, "title": "Kế hoạch", "blank": "  ", "tags": [], "kind": "plan"}


def ctx(payload=None) -> GuardContext:
    return GuardContext(1, "w", "s", "t", "a", frozenset(), DATA, payload or {},
                        datetime(2020, 9, 7, tzinfo=UTC))


RULES = [
    (m.Required(("title",)), {}, True),
    (m.Required(("title", "blank", "tags", "absent")), {}, False),
    (m.Required(("absent",)), {"absent": "given in the payload"}, True),
    (m.Compare("amount", "ge", 100), {}, True),
    (m.Compare("amount", "lt", 100), {}, False),
    (m.Compare("amount", "eq", 120), {}, True),
    (m.Compare("amount", "ne", 120), {}, False),
    (m.Compare("kind", "in", ("plan", "report")), {}, True),
    (m.Compare("kind", "not_in", ("plan", "report")), {}, False),
    (m.Compare("payload.amount", "gt", 500), {"amount": 600}, True),
    (m.Compare("data.amount", "gt", 500), {"amount": 600}, False),
    (m.Compare("title", "gt", 5), {}, False),
    (m.Compare("absent", "ge", 1), {}, False),
    (m.AllOf((m.Required(("title",)), m.Compare("amount", "ge", 100))), {}, True),
    (m.AllOf((m.Required(("title",)), m.Compare("amount", "ge", 1000))), {}, False),
    (m.AnyOf((m.Required(("absent",)), m.Compare("amount", "ge", 100))), {}, True),
    (m.AnyOf((m.Required(("absent",)), m.Compare("amount", "ge", 1000))), {}, False),
    (m.Not(m.Required(("absent",))), {}, True),
    (m.Not(m.Required(("title",))), {}, False),
]


@pytest.mark.parametrize(("guard", "payload", "passes"), RULES, ids=[repr(r[0]) for r in RULES])
def test_guard_vocabulary(guard, payload, passes):
    assert evaluate_guard(guard, ctx(payload), Registry()).passed is passes


def test_required_names_every_missing_field():
    outcome = evaluate_guard(m.Required(("title", "blank", "tags", "absent")), ctx(), Registry())
    assert outcome.missing == ("blank", "tags", "absent")


@pytest.mark.parametrize(("verdict", "passes", "reason"), [
    (True, True, None), (False, False, "budget_ok refused"), ("over budget", False, "over budget"),
])
def test_registered_guard_function(verdict, passes, reason):
    registry = Registry()
    registry.guard("budget_ok")(lambda _ctx: verdict)
    outcome = evaluate_guard(m.FunctionGuard("budget_ok"), ctx(), registry)
    assert outcome.passed is passes
    assert (outcome.reasons[0] if outcome.reasons else None) == reason
