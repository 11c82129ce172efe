"""The mutation suite: every attack of ``audit_attacks`` on both backends, each found by
``workflow audit verify`` (exit 3, the first bad event named), every plain hash recomputed by the
attacker. What only the key can find is held to pass without it, so the limit stays known."""

from __future__ import annotations

import io
from typing import Any

import pytest
from audit_attacks import CASES, CLERK, World, attack, build_world
from audit_cli_support import run
from sqlalchemy import update
from support import PAYMENT

from workflow import Engine
from workflow.auditing import read_checkpoint, take_checkpoint, verify_database, write_checkpoint
from workflow.errors import DefinitionTampered
from workflow.store.tables import definitions


@pytest.fixture
def world(payment: Engine) -> World:
    return build_world(payment)


def _first_bad(result: Any) -> tuple[int, int | None]:
    problems = result.json()["problems"]
    return problems[0]["instance_id"], problems[0]["seq"]


def test_the_untouched_world_verifies(payment, world, database_url):
    result = run(database_url, "audit", "verify", "--json")
    assert (result.code, result.json()["ok"]) == (0, True)


@pytest.mark.parametrize("case", [c for c in CASES if c.without_key], ids=lambda c: c.name)
def test_an_attack_is_found_and_its_first_bad_event_named(payment, world, database_url, case):
    attack(payment, case, world)
    result = run(database_url, "audit", "verify", "--json")
    assert result.code == 3
    assert _first_bad(result) == case.first_bad(world)


@pytest.mark.parametrize("case", [c for c in CASES if not c.without_key], ids=lambda c: c.name)
def test_without_the_key_a_consistent_forgery_passes(payment, world, database_url, case):
    """The limit of a log anyone with write access can rewrite: only the key (or a checkpoint
    taken after the event) tells these apart from the engine's own writes."""
    attack(payment, case, world)
    assert run(database_url, "audit", "verify").code == 0


def test_a_checkpoint_finds_a_rehashed_chain(payment, world, database_url, tmp_path):
    saved = tmp_path / "cp.json"
    assert run(database_url, "audit", "checkpoint", "-o", str(saved)).code == 0
    rehashed = next(c for c in CASES if c.name.startswith("rehashed chain"))
    attack(payment, rehashed, world)
    result = run(database_url, "audit", "verify", "--checkpoint", str(saved), "--json")
    assert result.code == 3
    assert _first_bad(result) == rehashed.first_bad(world)


def test_a_checkpoint_finds_a_definition_row_edited_in_its_comments(payment, world):
    """A comment changes no content hash, so only the checkpoint's source hash sees it."""
    buffer = io.StringIO()
    write_checkpoint(take_checkpoint(payment), buffer)
    buffer.seek(0)
    checkpoint = read_checkpoint(buffer, None)
    with payment.db.begin() as conn:
        conn.execute(update(definitions).values(source_text="# sửa\n" + PAYMENT))
    assert verify_database(payment).ok
    problems = verify_database(payment, checkpoint=checkpoint).problems
    assert [str(p) for p in problems] == [
        "administrators' log: definition payment@1 changed since the checkpoint"
    ]


def test_the_engine_refuses_to_run_an_edited_definition(payment, world, database_url):
    edited = next(c for c in CASES if c.name == "edited definition source")
    attack(payment, edited, world)
    refused = pytest.raises(DefinitionTampered, match="payment@1 was edited in the database")
    with Engine(database_url, clock=payment.clock) as fresh, refused:  # nothing compiled yet
        fresh.fire(world.c, "pay", CLERK, payload={"paid": 150})
    result = run(database_url, "fire", str(world.c), "pay", "--actor", CLERK.id, "--payload",
                 '{"paid": 150}')  # fmt: skip
    assert result.code == 3
    assert "was edited in the database" in result.err


def test_redeploying_the_original_over_an_edited_row_is_refused(payment, world):
    edited = next(c for c in CASES if c.name == "edited definition source")
    attack(payment, edited, world)
    with pytest.raises(DefinitionTampered):
        payment.deploy_text(PAYMENT, filename="payment.yaml")
