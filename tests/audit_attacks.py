"""What someone who can write the database does to make the record lie: the mutation suite's
attacks, as real SQL through the driver (the append-only triggers dropped first, as such an
attacker would), each recomputing every plain hash it disturbs so only what a hash cannot show
is left to find.

A world: the payment workflow deployed (administrators' log event 1), ``clerk-1`` registered as a
clerk (event 2); instance A with 5 events (start, pay 10, 20, 30, then 150 to ``paid``), B
cancelled (2 events), C open (start only).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Connection

from workflow import Actor, Engine
from workflow.hashchain.encoding import GENESIS, event_hash
from workflow.store.tables import actors, audit_events, definitions, instances

PAYMENT_FINAL = ("paid", "cancelled")
CLERK = Actor("clerk-1", ["clerk"])


@dataclass(frozen=True)
class World:
    a: int
    b: int
    c: int


def build_world(engine: Engine) -> World:
    engine.add_actor(CLERK.id, ["clerk"])
    a = engine.start("payment", CLERK).instance.id
    for paid in (10, 20, 30, 150):
        engine.fire(a, "pay", CLERK, payload={"paid": paid})
    b = engine.start("payment", CLERK).instance.id
    engine.fire(b, "cancel", CLERK, reason="trùng")
    c = engine.start("payment", CLERK).instance.id
    return World(a, b, c)


def drop_append_only_triggers(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update_delete ON audit_events"))
        conn.execute(text("DROP TRIGGER IF EXISTS admin_events_no_update_delete ON admin_events"))
    else:
        for name in ("audit_events", "admin_events"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}_no_update"))
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}_no_delete"))


def _rows(conn: Connection, instance_id: int) -> list[dict[str, Any]]:
    query = select(audit_events).where(audit_events.c.instance_id == instance_id)
    return [dict(r._mapping) for r in conn.execute(query.order_by(audit_events.c.seq))]


def rehash(conn: Connection, instance_id: int) -> None:
    """Recompute every plain hash of a chain, links included, and point its instance row at the
    new head in every column: what an attacker without the key does to cover an edit."""
    prev = GENESIS
    rows = _rows(conn, instance_id)
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(row)
        conn.execute(
            update(audit_events)
            .where(audit_events.c.id == row["id"])
            .values(prev_hash=row["prev_hash"], hash=row["hash"])
        )
    last = rows[-1]
    conn.execute(
        update(instances)
        .where(instances.c.id == instance_id)
        .values(
            version=last["seq"],
            last_hash=last["hash"],
            state=last["to_state"],
            data=json.loads(last["data"]),
            active=last["to_state"] not in PAYMENT_FINAL,
            definition_version=last["definition_version"],
        )
    )


def edit_event(conn: Connection, instance_id: int, seq: int, **values: Any) -> None:
    conn.execute(
        update(audit_events)
        .where(audit_events.c.instance_id == instance_id, audit_events.c.seq == seq)
        .values(**values)
    )
    rehash(conn, instance_id)


def append_event(conn: Connection, instance_id: int, **values: Any) -> None:
    """A new last event of the chain: by default a legal ``pay`` of 10 (open → open) by the
    registered clerk, a minute after the last event."""
    last = _rows(conn, instance_id)[-1]
    data = {**json.loads(last["data"]), "paid": 10}
    row = {
        **{k: v for k, v in last.items() if k not in ("id", "hash")},
        "seq": last["seq"] + 1,
        "kind": "transition",
        "trigger": "pay",
        "from_state": last["to_state"],
        "to_state": "open",
        "actor": CLERK.id,
        "actor_roles": '["clerk"]',
        "actor_unit": None,
        "reason": None,
        "payload": '{"paid":10}',
        "data": json.dumps(data, sort_keys=True, separators=(",", ":")),
        "occurred_at": last["occurred_at"] + timedelta(minutes=1),
        "hash": "",
        **values,
    }
    conn.execute(insert(audit_events).values(**row))
    rehash(conn, instance_id)


def edit_instance(conn: Connection, instance_id: int, **values: Any) -> None:
    conn.execute(update(instances).where(instances.c.id == instance_id).values(**values))


def edit_definition(conn: Connection, w: World) -> None:
    source = conn.execute(select(definitions.c.source_text)).scalar_one()
    edited = source.replace("dest: paid", "dest: cancelled", 1)
    conn.execute(update(definitions).values(source_text=edited))


Attack = Callable[[Connection, World], None]

FORGED_COLUMNS: list[tuple[str, Callable[[World], int], Any]] = [
    ("data", lambda w: w.c, {"paid": 999}),
    ("unit", lambda w: w.c, "u9"),
    ("active", lambda w: w.a, True),
    ("definition_version", lambda w: w.c, 2),
    ("workflow", lambda w: w.c, "other"),
]
"""Instance columns an attacker edits, on which instance, to what."""


@dataclass(frozen=True)
class Case:
    """One attack; ``first_bad``: (chain, seq or None for the instance row) named first, as a
    function of the world (chain 0 is the administrators' log); ``without_key``: whether it is
    found with no audit key configured (False: only the key finds it)."""

    name: str
    attack: Attack
    first_bad: Callable[[World], tuple[int, int | None]]
    without_key: bool = True


CASES = [
    Case("edited definition source", edit_definition, lambda w: (0, 1)),
    Case(
        "edited actors row",
        lambda conn, w: conn.execute(update(actors).values(roles=["clerk", "auditor"])),
        lambda w: (0, 2),
    ),
    *(
        Case(
            f"forged instance {column}",
            lambda conn, w, c=column, o=owner, v=value: edit_instance(conn, o(w), **{c: v}),
            lambda w, o=owner: (o(w), None),
        )
        for column, owner, value in FORGED_COLUMNS
    ),
    Case(
        "appended legal-looking event",
        lambda conn, w: append_event(conn, w.c),
        lambda w: (w.c, 2),
        without_key=False,
    ),
    Case(
        "appended event with an unknown trigger",
        lambda conn, w: append_event(conn, w.c, trigger="teleport", to_state="paid"),
        lambda w: (w.c, 2),
    ),
    Case(
        "appended event by an unregistered actor",
        lambda conn, w: append_event(conn, w.c, actor="mallory"),
        lambda w: (w.c, 2),
    ),
    Case(
        "appended event with an undeclared role",
        lambda conn, w: append_event(conn, w.c, actor_roles='["auditor","clerk"]'),
        lambda w: (w.c, 2),
    ),
    Case(
        "time running backwards",
        lambda conn, w: edit_event(
            conn, w.a, 3, occurred_at=_rows(conn, w.a)[0]["occurred_at"] - timedelta(days=1)
        ),
        lambda w: (w.a, 3),
    ),
    Case(
        "data that does not follow from payload and effects",
        lambda conn, w: edit_event(conn, w.a, 3, data='{"paid":999}'),
        lambda w: (w.a, 3),
    ),
    Case(
        "rehashed chain (an edited reason)",
        lambda conn, w: edit_event(conn, w.b, 2, reason="đã sửa"),
        lambda w: (w.b, 2),
        without_key=False,
    ),
]


def attack(engine: Engine, case: Case, world: World) -> None:
    """Run ``case``'s attack on the database, its append-only triggers dropped first."""
    with engine.db.begin() as conn:
        drop_append_only_triggers(conn)
        case.attack(conn, world)
