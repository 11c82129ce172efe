"""The replay's actor rule over time: an actor may claim, at an instant, the roles and unit of
its registration in force then; a re-registration ends what the one before it allowed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from workflow._legal.ledger import AdminLedger
from workflow._legal.replay import LegalityCheck, _Illegal
from workflow._legal.rules import Rules
from workflow.hashchain.verifier import CHAIN_COLUMNS
from workflow.registry import Registry


def _registration(seq: int, actor: str, roles: list[str], month: int) -> dict[str, object]:
    return {
        "seq": seq,
        "action": "actor",
        "subject": actor,
        "detail": json.dumps({"roles": roles, "unit": None}),
        "occurred_at": datetime(2026, month, 1, tzinfo=UTC),
    }


@pytest.fixture
def ledger() -> AdminLedger:
    found = AdminLedger()
    found.note(_registration(1, "lan", ["clerk"], 1))
    found.note(_registration(2, "minh", ["clerk"], 2))
    found.note(_registration(3, "lan", ["head"], 3))
    return found


def _at(month: int, day: int) -> str:
    return f"2026-{month:02d}-{day:02d}T00:00:00.000000Z"


# Asked in this order, so that an answer kept from an earlier question is put to the test.
QUESTIONS = [
    ("lan", "clerk", _at(1, 15), True),
    ("lan", "clerk", _at(2, 20), True),
    ("lan", "clerk", _at(3, 1), False),  # the instant of the re-registration
    ("lan", "clerk", _at(1, 20), True),
    ("lan", "head", _at(2, 28), False),
    ("lan", "head", _at(3, 2), True),
    ("minh", "clerk", _at(1, 15), False),  # registered only later
    ("minh", "clerk", _at(2, 1), True),
    ("lan", "clerk", _at(1, 1), True),  # at the first registration, actors are the application's
    ("nam", "clerk", _at(1, 1), True),
    ("nam", "clerk", _at(1, 2), False),
]


def _row(actor: str, role: str) -> tuple[object, ...]:
    row: list[object] = [None] * len(CHAIN_COLUMNS)
    row[CHAIN_COLUMNS.index("actor")] = actor
    row[CHAIN_COLUMNS.index("actor_roles")] = json.dumps([role])
    return tuple(row)


def test_each_claim_is_judged_by_the_registration_in_force(ledger):
    """Through the replay's own reading of an event's actor, which keeps what it cleared."""
    check = LegalityCheck(ledger, lambda w, v: Rules(None, ""), Registry(), str, lambda i, r: None)

    def allowed(actor: str, role: str, at: str) -> bool:
        try:
            check._actor(_row(actor, role), at, spawned=False)
        except _Illegal:
            return False
        return True

    answers = [allowed(actor, role, at) for actor, role, at, _ in QUESTIONS]
    assert answers == [allowed for *_, allowed in QUESTIONS]


@pytest.mark.parametrize(
    ("actor", "at", "span"),
    [
        ("lan", _at(1, 1), ("", _at(1, 1) + "\0")),
        ("lan", _at(1, 15), (_at(1, 1) + "\0", _at(3, 1))),
        ("lan", _at(3, 1), (_at(3, 1), "\U0010ffff")),
        ("minh", _at(1, 15), (_at(1, 1) + "\0", _at(2, 1))),
        ("nam", _at(5, 1), (_at(1, 1) + "\0", "\U0010ffff")),
    ],
)
def test_a_clearance_holds_until_the_next_registration(ledger, actor, at, span):
    assert ledger.span(actor, at) == span
