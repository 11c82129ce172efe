"""Keyed events: with an audit key, every audit and administrators' event carries an HMAC under
it, so whoever writes the database without the key cannot edit, forge or append an event that
verifies, even after recomputing every plain hash. Keys rotate; events written before a key
existed are reported as unkeyed, never as verified by the key."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from audit_attacks import (
    CASES,
    CLERK,
    World,
    append_event,
    attack,
    build_world,
    drop_append_only_triggers,
    edit_event,
)
from audit_cli_support import run
from sqlalchemy import select, update
from support import PAYMENT

from workflow import Engine, FrozenClock, Registry
from workflow.auditing import take_checkpoint, write_checkpoint
from workflow.hashchain.encoding import event_hash
from workflow.hashchain.keys import KEYS_INFO, AuditKeys, key_id
from workflow.store import chain_writer
from workflow.store import repository as repo
from workflow.store.tables import admin_events, audit_events

KEY = "khoá-kiểm-toán-2026"
OLD_KEY = "khoá-cũ-2025"
KEYED = {"WORKFLOW_AUDIT_KEY": KEY}


def _keyed_engine(url: str, clock: FrozenClock, *keys: str) -> Engine:
    ring = AuditKeys(tuple(k.encode() for k in keys)) if keys else None
    return Engine(
        url, clock=clock, registry=Registry(), audit_keys=ring, keys_from_environment=False
    )


@pytest.fixture
def keyed(database_url: str, clock: FrozenClock) -> Iterator[Engine]:
    with _keyed_engine(database_url, clock, KEY) as engine:
        engine.deploy_text(PAYMENT, filename="payment.yaml")
        yield engine


@pytest.fixture
def world(keyed: Engine) -> World:
    return build_world(keyed)


def _verify(url: str, *args: str, env: dict[str, str | None] | None = None) -> Any:
    return run(url, "audit", "verify", "--json", *args, env=env or KEYED)


def test_every_event_is_sealed_in_its_own_row(keyed, world):
    with keyed.db.connect() as conn:
        rows = [*conn.execute(select(audit_events.c.key_id, audit_events.c.mac))]
        rows += [*conn.execute(select(admin_events.c.key_id, admin_events.c.mac))]
    assert {kid for kid, _ in rows} == {key_id(KEY.encode())}
    assert all(len(mac) == 64 for _, mac in rows)


def test_with_the_key_the_keyed_world_verifies(keyed, world, database_url):
    result = _verify(database_url)
    assert (result.code, result.json()["ok"]) == (0, True)
    assert result.json()["unkeyed_events"] == 0
    assert result.json()["keyed_events"] == result.json()["events"] + result.json()["admin_events"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_with_the_key_every_attack_is_found_after_rehashing(keyed, world, database_url, case):
    attack(keyed, case, world)
    result = _verify(database_url)
    assert result.code == 3
    first = result.json()["problems"][0]
    assert (first["instance_id"], first["seq"]) == case.first_bad(world)


def test_a_forged_event_with_its_seal_left_off_is_found(keyed, world, database_url):
    with keyed.db.begin() as conn:
        drop_append_only_triggers(conn)
        append_event(conn, world.c, key_id=None, mac=None)
    result = _verify(database_url)
    assert result.code == 3
    first = result.json()["problems"][0]
    assert (first["instance_id"], first["seq"]) == (world.c, 2)
    assert "has no MAC" in first["problem"]


def test_a_forged_administrators_event_is_found(keyed, world, database_url):
    """An actor registered behind the administrators' back: the row and its log event."""
    now, detail = keyed.now(), {"roles": ["clerk"], "unit": None}
    with keyed.db.begin() as conn:
        conn.info[KEYS_INFO] = None  # the engine's own statements, without the key
        repo.upsert_actor(conn, "mallory", ["clerk"], None, None, now)
        chain_writer.append_admin_event(conn, "actor", "mallory", "root", detail, now)
    result = _verify(database_url)
    assert result.code == 3
    first = result.json()["problems"][0]
    assert (first["instance_id"], first["seq"]) == (0, 3)


def _reseal_one(conn: Any, instance_id: int, seq: int, **values: Any) -> None:
    """Edit one event and recompute its plain hash only: the next event's link breaks."""
    row = dict(
        conn.execute(
            select(audit_events).where(
                audit_events.c.instance_id == instance_id, audit_events.c.seq == seq
            )
        ).one()._mapping
    )
    row.update(values)
    conn.execute(
        update(audit_events)
        .where(audit_events.c.id == row["id"])
        .values(**values, hash=event_hash(row))
    )


def test_with_the_key_an_edit_before_a_broken_link_is_named(keyed, world, database_url):
    """A later MAC still proves the events after the edit (their hashes are intact): the
    edited event is named, by the link the next event holds to its old hash."""
    with keyed.db.begin() as conn:
        drop_append_only_triggers(conn)
        _reseal_one(conn, world.a, 2, payload='{"paid":99}')
    first = _verify(database_url).json()["problems"][0]
    assert (first["instance_id"], first["seq"]) == (world.a, 2)


@pytest.mark.parametrize("seq", [1, 3, 5])
def test_with_the_key_a_forged_event_anywhere_in_a_long_chain_is_named(
    keyed, world, database_url, clock, seq
):
    """The MAC is checked at the chain's end and every few dozen events; a forgery anywhere is
    found and named (here in a chain longer than one stretch between checks)."""
    for _ in range(70):
        clock.advance(timedelta(seconds=1))
        keyed.fire(world.c, "pay", CLERK, payload={"paid": 1})
    with keyed.db.begin() as conn:
        drop_append_only_triggers(conn)
        edit_event(conn, world.c, seq + 60, reason="sửa")
    first = _verify(database_url).json()["problems"][0]
    assert (first["instance_id"], first["seq"]) == (world.c, seq + 60)


def test_events_written_before_the_key_are_unkeyed_not_verified(database_url, clock):
    with _keyed_engine(database_url, clock) as plain:
        plain.deploy_text(PAYMENT, filename="payment.yaml")
        before = plain.start("payment", CLERK).instance.id
    clock.advance(timedelta(minutes=5))
    with _keyed_engine(database_url, clock, KEY) as engine:
        engine.fire(before, "pay", CLERK, payload={"paid": 10})
    result = _verify(database_url).json()
    assert (result["ok"], result["unkeyed_events"], result["keyed_events"]) == (True, 2, 1)
    text = run(database_url, "audit", "verify", env=KEYED).out
    assert "2 unkeyed (written before a key)" in text


def test_keys_rotate_and_an_unknown_key_is_named(database_url, clock):
    with _keyed_engine(database_url, clock, OLD_KEY) as old:
        old.deploy_text(PAYMENT, filename="payment.yaml")
        instance = old.start("payment", CLERK).instance.id
    with _keyed_engine(database_url, clock, KEY, OLD_KEY) as rotated:
        rotated.fire(instance, "pay", CLERK, payload={"paid": 10})
        assert rotated.verify().ok
    with _keyed_engine(database_url, clock, KEY) as forgetful:
        problems = forgetful.verify().problems
    assert f"sealed with key {key_id(OLD_KEY.encode())}" in str(problems[0])


def test_a_key_file_holds_the_ring(database_url, clock, tmp_path):
    ring = tmp_path / "keys"
    ring.write_text(f"{KEY}\n{OLD_KEY}\n", encoding="utf-8")
    ring.chmod(0o600)
    with _keyed_engine(database_url, clock, OLD_KEY) as old:
        old.deploy_text(PAYMENT, filename="payment.yaml")
    env = {"WORKFLOW_AUDIT_KEY_FILE": str(ring)}
    assert _verify(database_url, env=env).json()["ok"] is True
    keys = AuditKeys.from_environment(env)
    assert keys is not None
    assert keys.signing_id == key_id(KEY.encode())


@pytest.mark.parametrize("backend", ["sqlite"])  # the checkpoint file: no database involved
@pytest.mark.parametrize(
    "change",
    [
        lambda doc: doc.pop("signature"),
        lambda doc: doc.update(signature=None),
        lambda doc: doc["signature"].update(value="0" * 64),
        lambda doc: doc["chains"][-1].update(head_hash="f" * 64),
    ],
    ids=["removed", "nulled", "altered", "chain-edited"],
)
def test_with_the_key_a_stripped_or_altered_checkpoint_is_refused(
    keyed, world, database_url, tmp_path, change
):
    saved = tmp_path / "cp.json"
    buffer = io.StringIO()
    write_checkpoint(take_checkpoint(keyed), buffer, KEY.encode())
    document = json.loads(buffer.getvalue())
    change(document)
    saved.write_text(json.dumps(document), encoding="utf-8")
    result = run(database_url, "audit", "verify", "--checkpoint", str(saved), env=KEYED)
    assert result.code == 3
    assert "signature" in result.err or "unsigned" in result.err
