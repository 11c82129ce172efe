"""Idempotency keys: each key is bound to the request it first served, on both backends.

Sent again with the identical request, a key replays the stored result, after the permission
check a fire makes (roles and unit scope, guards not re-run); with any other request (another
instance, trigger, actor, payload, reason; for a start another workflow, data or placement) it is
refused with ``IdempotencyKeyReused``, naming what differs and never a payload value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import PAYMENT

from workflow import Actor, Engine, IdempotencyKeyReused, PermissionDenied
from workflow.store import migrate

SECRET = "s3cr3t-value"
CLERK = Actor("lan", ["clerk"], "van_phong")


@pytest.fixture
def pair(payment: Engine) -> tuple[int, int]:
    """Two open payments; the first already took ``pay`` with key ``k-1``."""
    first = payment.start("payment", CLERK, unit="van_phong").instance.id
    second = payment.start("payment", CLERK, unit="van_phong").instance.id
    payment.fire(first, "pay", CLERK, payload={"paid": 120}, idempotency_key="k-1")
    return first, second


def test_a_key_sent_to_another_instance_is_refused_and_leaves_it_untouched(payment, pair):
    _first, second = pair
    with pytest.raises(IdempotencyKeyReused) as refused:
        payment.fire(second, "pay", CLERK, payload={"paid": 120}, idempotency_key="k-1")
    assert refused.value.differs == ("instance",)
    assert (payment.get(second).state, payment.get(second).version) == ("open", 1)


@pytest.mark.parametrize(
    ("trigger", "actor", "payload", "reason", "differs"),
    [
        ("cancel", CLERK, {"paid": 120}, None, ("trigger",)),
        ("pay", Actor("mai", ["clerk"], "van_phong"), {"paid": 120}, None, ("actor",)),
        ("pay", CLERK, {"paid": 121, "note": SECRET}, None, ("payload",)),
        ("pay", CLERK, {"paid": 120}, SECRET, ("reason",)),
        ("cancel", CLERK, {}, SECRET, ("trigger", "payload", "reason")),
    ],
    ids=["trigger", "actor", "payload", "reason", "several"],
)
def test_a_key_sent_with_another_request_is_refused_naming_what_differs(
    payment, pair, trigger, actor, payload, reason, differs
):
    first, _ = pair
    with pytest.raises(IdempotencyKeyReused) as refused:
        payment.fire(first, trigger, actor, payload=payload, reason=reason, idempotency_key="k-1")
    assert refused.value.differs == differs
    assert "k-1" in str(refused.value)
    assert SECRET not in str(refused.value)
    assert payment.get(first).version == 2


def test_the_identical_request_replays_the_stored_result(payment, pair):
    first, _ = pair
    again = payment.fire(first, "pay", CLERK, payload={"paid": 120}, idempotency_key="k-1")
    assert again.replayed
    assert (again.event.instance_id, again.event.seq, again.state) == (first, 2, "paid")


@pytest.mark.parametrize(
    "actor",
    [Actor("lan", ["auditor"], "van_phong"), Actor("lan", [], "van_phong")],
    ids=["role-lost", "no-roles"],
)
def test_a_replay_is_refused_to_an_actor_who_lost_the_role(payment, pair, actor):
    first, _ = pair
    with pytest.raises(PermissionDenied):
        payment.fire(first, "pay", actor, payload={"paid": 120}, idempotency_key="k-1")


UNIT_SCOPED = PAYMENT.replace("    roles: [clerk]\n", "    roles: [clerk]\n    units: own\n")


def test_a_replay_is_refused_to_an_actor_moved_out_of_the_unit(engine):
    engine.deploy_text(UNIT_SCOPED, filename="payment.yaml")
    instance = engine.start("payment", CLERK, unit="van_phong").instance.id
    engine.fire(instance, "pay", CLERK, payload={"paid": 120}, idempotency_key="k-1")
    moved = Actor("lan", ["clerk"], "phong_khac")
    with pytest.raises(PermissionDenied):
        engine.fire(instance, "pay", moved, payload={"paid": 120}, idempotency_key="k-1")


SECOND_WORKFLOW = PAYMENT.replace("name: payment", "name: refund")
GUARDED_START = PAYMENT.replace("states:", "start_roles: [clerk]\nstates:")


@pytest.mark.parametrize(
    ("workflow", "data", "unit", "differs"),
    [
        ("refund", {"amount": 5}, "van_phong", ("workflow",)),
        ("payment", {"amount": 6}, "van_phong", ("data",)),
        ("payment", {"amount": 5}, "phong_khac", ("placement",)),
    ],
    ids=["workflow", "data", "unit"],
)
def test_a_start_key_sent_with_another_start_is_refused(engine, workflow, data, unit, differs):
    engine.deploy_text(PAYMENT, filename="payment.yaml")
    engine.deploy_text(SECOND_WORKFLOW, filename="refund.yaml")
    engine.start("payment", CLERK, data={"amount": 5}, unit="van_phong", idempotency_key="s-1")
    with pytest.raises(IdempotencyKeyReused) as refused:
        engine.start(workflow, CLERK, data=data, unit=unit, idempotency_key="s-1")
    assert refused.value.differs == differs


def test_a_start_key_replays_only_to_an_actor_still_allowed_to_start(engine):
    engine.deploy_text(GUARDED_START, filename="payment.yaml")
    first = engine.start("payment", CLERK, idempotency_key="s-1")
    assert engine.start("payment", CLERK, idempotency_key="s-1").instance.id == first.instance.id
    with pytest.raises(PermissionDenied):
        engine.start("payment", Actor("lan", ["auditor"]), idempotency_key="s-1")


def test_a_fire_key_used_again_for_a_start_is_refused(payment, pair):
    with pytest.raises(IdempotencyKeyReused) as refused:
        payment.start("payment", CLERK, idempotency_key="k-1")
    assert "operation" in refused.value.differs


def test_keys_stored_before_the_migration_are_bound_to_their_request(payment, pair):
    """Migration 0002 binds each stored key to the request in the audit event it applied."""
    first, second = pair
    payment.start("payment", CLERK, data={"amount": 5}, unit="van_phong", idempotency_key="s-1")
    migrate.downgrade(payment.db, "0001")
    migrate.upgrade(payment.db)
    assert payment.fire(
        first, "pay", CLERK, payload={"paid": 120}, idempotency_key="k-1"
    ).replayed
    assert payment.start(
        "payment", CLERK, data={"amount": 5}, unit="van_phong", idempotency_key="s-1"
    ).replayed
    with pytest.raises(IdempotencyKeyReused):
        payment.fire(second, "pay", CLERK, payload={"paid": 120}, idempotency_key="k-1")


CONSOLE = [sys.executable, "-c", "from cli.main import main; main()"]


def console(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CONSOLE, "--db", db, *args], capture_output=True, text=True,
                          timeout=120, check=False, env=dict(os.environ))


def test_cli_refuses_a_reused_key_with_exit_2_and_one_line(database_url, tmp_path: Path):
    (tmp_path / "payment.yaml").write_text(PAYMENT, encoding="utf-8")
    with Engine.open(database_url) as engine:
        engine.deploy(tmp_path / "payment.yaml")
        engine.add_actor("lan", ["clerk"], unit="van_phong")
        first = engine.start("payment", CLERK).instance.id
        second = engine.start("payment", CLERK).instance.id
    pay = ("pay", "--actor", "lan", "--payload", '{"paid": 120}', "--idempotency-key", "k-1")
    assert console(database_url, "fire", str(first), *pay).returncode == 0
    replay = console(database_url, "fire", str(first), *pay)
    refused = console(database_url, "fire", str(second), *pay)
    assert (replay.returncode, "replayed" in replay.stdout) == (0, True)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "'k-1'" in refused.stderr
    assert "instance" in refused.stderr
    assert "Traceback" not in refused.stderr
