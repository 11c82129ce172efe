# The refusal tables read best one case per line, so long lines are allowed here.
# ruff: noqa: E501
"""Hostile input to the API and the CLI: stored byte for byte, or refused with a typed error.

Text that looks like SQL or a bind parameter is data, never interpreted. NUL and right-to-left
override characters inside payloads round-trip exactly on both backends (JSON keeps them as
``\\u0000`` escapes). Identifiers and reasons with a NUL are refused on both backends alike
(PostgreSQL TEXT cannot hold one). Every refusal is a typed error and changes no row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from reliability_support import count, row_counts, run_cli

from workflow import (
    MAX_PAYLOAD_BYTES,
    Actor,
    Engine,
    InvalidInput,
    NotFound,
    PermissionDenied,
    UnknownTrigger,
    WorkflowError,
)

ORDERS = """\
name: orders
labels: {vi: Đơn, en: Orders}
roles:
  clerk: {vi: Văn thư, en: Clerk}
fields:
  note: {type: string}
  blob: {type: object}
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - trigger: annotate
    source: open
    dest: open
    roles: [clerk]
    units: own
    effects: [{merge: [note, blob]}]
  - {trigger: close, source: open, dest: done, roles: [clerk], units: own, require_reason: true}
"""

HOSTILE_TEXT = [
    "'; DROP TABLE audit_events; --",
    "1' OR '1'='1",
    ":name",
    "%(name)s ? $1 :1",
    "\u202etxt.exe",  # right-to-left override
    "Quyết định số 12/QĐ-UBND ✓",
    'back\\slash "quotes"',
]
PAYLOAD_ONLY = ["nul\x00inside", "\x00", "\u202e\x00\u202c"]

CLERK = Actor("clerk-1", ["clerk"], "u1")


@pytest.fixture
def orders(engine: Engine) -> tuple[Engine, int]:
    engine.deploy_text(ORDERS, filename="orders.yaml")
    return engine, engine.start("orders", CLERK, unit="u1").instance.id


def test_hostile_text_round_trips_in_actor_reason_and_payload(engine: Engine) -> None:
    """Actor id, reason, payload keys and values come back exactly as sent, for every text."""
    engine.deploy_text(ORDERS, filename="orders.yaml")
    for text in HOSTILE_TEXT:
        instance_id = engine.start("orders", CLERK, unit="u1").instance.id
        actor = Actor(text, ["clerk"], "u1")
        payload = {"note": text, text: text, "blob": {text: [text]}}
        engine.fire(instance_id, "annotate", actor, payload=payload)
        engine.fire(instance_id, "close", actor, reason=text)
        annotate, close = engine.history(instance_id)[1:]
        assert (annotate.actor, dict(annotate.payload)) == (text, payload)
        assert (close.actor, close.reason) == (text, text)
        assert engine.get(instance_id).data == {"note": text, "blob": {text: [text]}}
    assert engine.verify().ok


def test_nul_in_payload_and_data_round_trips(orders: tuple[Engine, int]) -> None:
    """Inside JSON a NUL is an escape, so both backends store and return it unchanged."""
    engine, instance_id = orders
    for text in PAYLOAD_ONLY:
        payload = {"note": text, text: text}
        engine.fire(instance_id, "annotate", CLERK, payload=payload)
        assert dict(engine.history(instance_id)[-1].payload) == payload
        assert engine.get(instance_id).data["note"] == text
    assert engine.verify().ok


def _huge() -> dict[str, Any]:
    return {"note": "x" * (MAX_PAYLOAD_BYTES + 1)}


# (case, call, expected error); each call gets (engine, instance id) and must change no row.
REFUSALS: list[tuple[str, Any, type[WorkflowError]]] = [
    ("NUL in actor id", lambda e, i: e.fire(i, "annotate", Actor("a\x00b", ["clerk"])), InvalidInput),
    ("NUL in role", lambda e, i: e.fire(i, "annotate", Actor("a", ["cl\x00erk"])), InvalidInput),
    ("NUL in actor unit", lambda e, i: e.fire(i, "annotate", Actor("a", [], "u\x00")), InvalidInput),
    ("NUL in reason", lambda e, i: e.fire(i, "close", CLERK, reason="why\x00"), InvalidInput),
    ("NUL in start unit", lambda e, i: e.start("orders", CLERK, unit="u\x00"), InvalidInput),
    ("NUL in idempotency key", lambda e, i: e.fire(i, "annotate", CLERK, idempotency_key="k\x00"), InvalidInput),
    ("NUL in actor lookup", lambda e, i: e.actor("a\x00"), InvalidInput),
    ("NUL in a list filter", lambda e, i: e.instances(workflow="orders\x00"), InvalidInput),
    ("NUL in a definition lookup", lambda e, i: e.definition("orders\x00"), InvalidInput),
    ("actor id of 201 chars", lambda e, i: e.fire(i, "annotate", Actor("a" * 201, ["clerk"])), InvalidInput),
    ("unit of 101 chars", lambda e, i: e.start("orders", CLERK, unit="u" * 101), InvalidInput),
    ("idempotency key of 201 chars", lambda e, i: e.fire(i, "annotate", CLERK, idempotency_key="k" * 201), InvalidInput),
    ("reason over the limit", lambda e, i: e.fire(i, "close", CLERK, reason="r" * 4001), InvalidInput),
    ("payload over the limit", lambda e, i: e.fire(i, "annotate", CLERK, payload=_huge()), InvalidInput),
    ("payload not JSON (a set)", lambda e, i: e.fire(i, "annotate", CLERK, payload={"note": {1}}), InvalidInput),
    ("payload NaN", lambda e, i: e.fire(i, "annotate", CLERK, payload={"note": float("nan")}), InvalidInput),
    ("payload lone surrogate", lambda e, i: e.fire(i, "annotate", CLERK, payload={"note": "\ud800"}), InvalidInput),
    ("payload not a mapping", lambda e, i: e.fire(i, "annotate", CLERK, payload=["x"]), InvalidInput),
    ("payload of the wrong type", lambda e, i: e.fire(i, "annotate", CLERK, payload={"note": 5}), InvalidInput),
    ("data with an unknown field", lambda e, i: e.start("orders", CLERK, data={"x": 1}), InvalidInput),
    ("unknown trigger", lambda e, i: e.fire(i, "explode", CLERK), UnknownTrigger),
    ("SQL as trigger", lambda e, i: e.fire(i, "x'; DROP TABLE instances; --", CLERK), UnknownTrigger),
    ("bind-like trigger", lambda e, i: e.fire(i, ":trigger", CLERK), UnknownTrigger),
    ("missing instance", lambda e, i: e.fire(i + 1000, "annotate", CLERK), NotFound),
    ("instance id 0", lambda e, i: e.fire(0, "annotate", CLERK), NotFound),
    ("negative instance id", lambda e, i: e.fire(-1, "annotate", CLERK), NotFound),
    ("instance id 2**63", lambda e, i: e.fire(2**63, "annotate", CLERK), NotFound),
    ("instance id 2**200", lambda e, i: e.get(2**200), NotFound),
    ("instance id as text", lambda e, i: e.fire("1", "annotate", CLERK), InvalidInput),
    ("instance id as bool", lambda e, i: e.history(True), InvalidInput),
    ("actor without the role", lambda e, i: e.fire(i, "annotate", Actor("a", ["viewer"], "u1")), PermissionDenied),
    ("actor of another unit", lambda e, i: e.fire(i, "annotate", Actor("a", ["clerk"], "u2")), PermissionDenied),
    ("actor of no unit", lambda e, i: e.fire(i, "annotate", Actor("a", ["clerk"])), PermissionDenied),
    ("unregistered actor", lambda e, i: e.actor("nobody"), NotFound),
    ("unknown workflow", lambda e, i: e.start("nope'--", CLERK), NotFound),
]  # fmt: skip


def test_hostile_calls_are_refused_with_a_typed_error_and_no_row_changes(
    orders: tuple[Engine, int],
) -> None:
    """Every case of the table on one database (a database per case would cost a minute);
    the failure lists each case that misbehaved by name."""
    engine, instance_id = orders
    failures = []
    for name, call, error in REFUSALS:
        count("hostile API calls:total")
        before = row_counts(engine)
        try:
            call(engine, instance_id)
        except error:
            pass
        except Exception as exc:
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        else:
            failures.append(f"{name}: no error")
            continue
        if row_counts(engine) != before:
            failures.append(f"{name}: rows changed")
            continue
        count("hostile API calls:passed")
    assert failures == []


# --- the CLI ------------------------------------------------------------------------------------

RTL_ACTOR = "\u202eclerk"
SQL_REASON = "'); DELETE FROM instances; -- :name"


@pytest.fixture
def cli_db(database_url: str, tmp_path: Path) -> tuple[str, int]:
    """The orders workflow deployed, actors registered, one instance started (via the API)."""
    (tmp_path / "orders.yaml").write_text(ORDERS, encoding="utf-8")
    with Engine.open(database_url) as engine:
        engine.deploy(tmp_path / "orders.yaml")
        engine.add_actor("clerk-1", ["clerk"], unit="u1")
        engine.add_actor(RTL_ACTOR, ["clerk"], unit="u1")
        engine.add_actor("viewer", ["viewer"], unit="u1")
        engine.add_actor("outsider", ["clerk"], unit="u2")
        instance_id = engine.start("orders", CLERK, unit="u1").instance.id
    return database_url, instance_id


def cli_cases(i: int, big: Path) -> list[tuple[str, list[str], int]]:
    """(case, argv after --db, exit code) for hostile CLI calls that must change nothing."""
    fire = ["fire", str(i)]
    return [
        ("invalid JSON payload", [*fire, "annotate", "--actor", "clerk-1", "--payload", "{note:"], 2),
        ("payload not an object", [*fire, "annotate", "--actor", "clerk-1", "--payload", "[1]"], 2),
        ("payload over the limit", [*fire, "annotate", "--actor", "clerk-1", "--payload", f"@{big}"], 2),
        ("payload file missing", [*fire, "annotate", "--actor", "clerk-1", "--payload", "@/nonexistent"], 2),
        ("unknown trigger", [*fire, "explode", "--actor", "clerk-1"], 1),
        ("SQL trigger", [*fire, "x' OR 1=1 --", "--actor", "clerk-1"], 1),
        ("missing instance", ["fire", str(i + 1000), "annotate", "--actor", "clerk-1"], 1),
        ("huge instance id", ["fire", str(2**70), "annotate", "--actor", "clerk-1"], 1),
        ("negative instance id", ["fire", "--actor", "clerk-1", "--", "-5", "annotate"], 1),
        ("instance id not a number", ["fire", "1; DROP", "annotate", "--actor", "clerk-1"], 2),
        ("unregistered actor", [*fire, "annotate", "--actor", "nobody"], 1),
        ("SQL actor", [*fire, "annotate", "--actor", "' OR '1'='1"], 1),
        ("actor without the role", [*fire, "annotate", "--actor", "viewer"], 1),
        ("actor of another unit", [*fire, "annotate", "--actor", "outsider"], 1),
        ("reason missing", [*fire, "close", "--actor", "clerk-1"], 2),
        ("show a missing instance", ["show", str(2**63)], 1),
        ("history of a missing instance", ["history", "0"], 1),
    ]  # fmt: skip


def test_cli_hostile_input(cli_db: tuple[str, int], tmp_path: Path) -> None:
    """Each hostile CLI call: its exit code, one line on stderr, no traceback, no row changed;
    then SQL-looking and right-to-left text is stored and printed back byte for byte."""
    url, instance_id = cli_db
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"note": "x" * MAX_PAYLOAD_BYTES}), encoding="utf-8")
    cases = cli_cases(instance_id, big)
    payload = json.dumps({"note": SQL_REASON + "\x00" + RTL_ACTOR})
    good = [
        ["--db", url, "fire", str(instance_id), "annotate", "--actor", RTL_ACTOR, "--payload", payload],
        ["--db", url, "fire", str(instance_id), "close", "--actor", RTL_ACTOR, "--reason", SQL_REASON],
        ["--db", url, "history", str(instance_id), "--json"],
    ]  # fmt: skip
    results = run_cli(tmp_path, url, [["--db", url, *argv] for _, argv, _ in cases] + good)
    rows = results["rows_before"]
    for (name, _, code), result in zip(cases, results["runs"], strict=False):
        count("hostile CLI calls:total")
        assert result["exit"] == code, (name, result)
        assert "Traceback" not in result["stderr"], name
        errors = [r for r in result["stderr"].splitlines() if r.lower().startswith("error")]
        assert len(errors) == 1, (name, result["stderr"])
        assert result["stdout"] == "", name
        assert result["rows_after"] == rows, name
        count("hostile CLI calls:passed")
    annotate, close, history = results["runs"][len(cases) :]
    assert (annotate["exit"], close["exit"], history["exit"]) == (0, 0, 0), results["runs"][-3:]
    events = json.loads(history["stdout"])
    assert events[1]["actor"] == RTL_ACTOR
    assert events[1]["payload"] == json.loads(payload)
    assert (events[2]["actor"], events[2]["reason"]) == (RTL_ACTOR, SQL_REASON)
