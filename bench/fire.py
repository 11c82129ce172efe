"""One transition per transaction: the engine against the same writes done by hand with the driver.

Every loop moves its own slice of freshly started ``ticket`` instances from ``open`` to
``review`` with ``submit``, one commit per transition. The hand-written loops do what the engine
must do anyway: read the instance, update it with the version check, insert the audit row with
its SHA-256 chain hash, insert the outbox row, commit.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from bench.common import TICKET, psycopg_dsn
from workflow import Actor, Engine, StartRequest
from workflow.auditing import AuditKeys

CLERK = Actor("clerk-1", ["clerk"])
PAYLOAD = {"amount": 125, "note": "đã kiểm tra"}
TOPIC = "ticket.submit.review"

_HASHED = (
    "instance_id", "seq", "kind", "trigger", "from_state", "to_state", "actor", "actor_roles",
    "actor_unit", "reason", "payload", "data", "workflow", "definition_version",
    "definition_hash", "occurred_at", "prev_hash",
)  # fmt: skip


def prepared_engine(
    url: str, instances: int, *, upgrade: bool = False, keys: AuditKeys | None = None
) -> tuple[Engine, list[int]]:
    """An engine on ``url`` with ``ticket`` deployed and ``instances`` started (in batches);
    with ``keys``, the events it writes are sealed under them."""
    if url.startswith("sqlite:///"):
        # Started instances written with sqlite3 (real chains of one event): setting up is
        # not what is measured, and start_many would take most of a quick run.
        from bench.scale import populate

        populate(url.removeprefix("sqlite:///"), instances, 1, keyed=keys is not None)
        engine = Engine(url, audit_keys=keys, keys_from_environment=False)
        return engine, list(range(1, instances + 1))
    if upgrade:
        with Engine(url, check_schema=False) as setup:
            setup.upgrade_schema()
    engine = Engine(url)
    engine.deploy_text(TICKET, filename="ticket.yaml")
    ids: list[int] = []
    while len(ids) < instances:
        batch = min(5_000, instances - len(ids))
        ids += engine.start_many("ticket", CLERK, [StartRequest() for _ in range(batch)])
    return engine, ids


def engine_fires(engine: Engine, ids: Sequence[int]) -> None:
    for instance_id in ids:
        engine.fire(instance_id, "submit", CLERK, payload=PAYLOAD)


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _audit(
    row: Sequence[Any], instance_id: int, now: datetime, definition_hash: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The audit row of ``submit`` (hash included) and the instance's new data."""
    workflow, version_of_definition, state, data, version, last_hash = row
    data = json.loads(data) if isinstance(data, str) else dict(data)
    data.update(PAYLOAD)
    audit: dict[str, Any] = {
        "instance_id": instance_id,
        "seq": version + 1,
        "kind": "transition",
        "trigger": "submit",
        "from_state": state,
        "to_state": "review",
        "actor": CLERK.id,
        "actor_roles": _canonical(sorted(CLERK.roles)),
        "actor_unit": None,
        "reason": None,
        "payload": _canonical(PAYLOAD),
        "data": _canonical(data),
        "workflow": workflow,
        "definition_version": version_of_definition,
        "definition_hash": definition_hash,
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "prev_hash": last_hash,
    }
    material = _canonical({k: audit[k] for k in _HASHED})
    audit["hash"] = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return audit, data


_READ = (
    "SELECT workflow, definition_version, state, data, version, last_hash"
    " FROM instances WHERE id = {p}"
)
# A hand-written loop, like the engine's machine cache, reads the definition's hash once.
_DEFINITION_HASH = "SELECT content_hash FROM definitions WHERE workflow = 'ticket' AND version = 1"
_UPDATE = (
    "UPDATE instances SET state = {p}, data = {p}, version = {p}, active = {p},"
    " updated_at = {p}, last_hash = {p} WHERE id = {p} AND version = {p}"
)
_INSERT_AUDIT = (
    "INSERT INTO audit_events (instance_id, seq, kind, trigger, from_state, to_state, actor,"
    " actor_roles, actor_unit, reason, payload, data, workflow, definition_version,"
    " definition_hash, occurred_at, prev_hash, hash)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p},"
    " {p}, {p})"
)
_INSERT_OUTBOX = (
    "INSERT INTO outbox (audit_id, instance_id, topic, status, attempts, next_attempt_at,"
    " created_at) VALUES ({p}, {p}, {p}, 'pending', 0, {p}, {p})"
)


def _audit_params(audit: dict[str, Any], occurred: object) -> tuple[Any, ...]:
    return (*(audit[k] for k in _HASHED[:-2]), occurred, audit["prev_hash"], audit["hash"])


def raw_sqlite_fires(path: str, ids: Sequence[int]) -> None:
    """The same writes with ``sqlite3``: WAL, synchronous=NORMAL, ``BEGIN IMMEDIATE``."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("busy_timeout = 30000", "foreign_keys = ON", "journal_mode = WAL"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("PRAGMA synchronous = NORMAL")
    read, change = _READ.format(p="?"), _UPDATE.format(p="?")
    add_audit, add_outbox = _INSERT_AUDIT.format(p="?"), _INSERT_OUTBOX.format(p="?")
    definition_hash = conn.execute(_DEFINITION_HASH).fetchone()[0]
    for instance_id in ids:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(read, (instance_id,)).fetchone()
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        audit, data = _audit(row, instance_id, now, definition_hash)
        moved = conn.execute(
            change,
            ("review", json.dumps(data), audit["seq"], 1, stamp, audit["hash"], instance_id,
             row[4]),
        )  # fmt: skip
        if moved.rowcount != 1:
            raise RuntimeError("version check failed")
        audit_id = conn.execute(add_audit, _audit_params(audit, stamp)).lastrowid
        conn.execute(add_outbox, (audit_id, instance_id, TOPIC, stamp, stamp))
        conn.execute("COMMIT")
    conn.close()


def postgres_step(
    row: Sequence[Any], instance_id: int, now: datetime, definition_hash: str
) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The audit row of ``submit`` and the parameters of the instance's update, for psycopg."""
    audit, data = _audit(row, instance_id, now, definition_hash)
    moved = ("review", json.dumps(data), audit["seq"], True, now, audit["hash"], instance_id,
             row[4])  # fmt: skip
    return audit, moved


def raw_postgres_fires(url: str, ids: Sequence[int]) -> None:
    """The same writes with ``psycopg`` (``RETURNING id`` for the audit row), one commit each."""
    read, change = _READ.format(p="%s"), _UPDATE.format(p="%s")
    add_audit = _INSERT_AUDIT.format(p="%s") + " RETURNING id"
    add_outbox = _INSERT_OUTBOX.format(p="%s")
    with psycopg.connect(psycopg_dsn(url)) as conn:
        first = conn.execute(_DEFINITION_HASH).fetchone()
        assert first is not None
        definition_hash = first[0]
        conn.commit()
        for instance_id in ids:
            with conn.cursor() as cur:
                cur.execute(read, (instance_id,))
                row = cur.fetchone()
                assert row is not None
                now = datetime.now(UTC)
                audit, moved = postgres_step(row, instance_id, now, definition_hash)
                cur.execute(change, moved)
                if cur.rowcount != 1:
                    raise RuntimeError("version check failed")
                cur.execute(add_audit, _audit_params(audit, now))
                audit_row = cur.fetchone()
                assert audit_row is not None
                cur.execute(add_outbox, (audit_row[0], instance_id, TOPIC, now, now))
            conn.commit()
