"""One writer: only ``workflow.store.chain_writer`` inserts or updates the rows of a chain.

The chain's rows are the instances, their audit events, timers and outbox rows, and the
administrators' log. Every statement that writes them, Core (``insert(instances)``) or SQL text
(``"INSERT INTO audit_events ..."``), is looked for in every library module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "workflow"
WRITER = "workflow.store.chain_writer"
CHAIN_TABLES = ("instances", "audit_events", "timers", "outbox", "admin_events")
VERBS = ("insert", "update", "delete")
SQL_WRITE = re.compile(
    rf"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?({'|'.join(CHAIN_TABLES)})\b", re.IGNORECASE
)

# The lease queues move timers and outbox rows through their statuses after the chain wrote
# them (claim, release, deliver, re-queue, prune): their own statements, pinned here.
QUEUE_WRITES = {
    ("workflow.store.timers", "update", "timers"),
    ("workflow.store.outbox", "update", "outbox"),
    ("workflow.store.outbox", "delete", "outbox"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def writes_in(source: str) -> set[tuple[str, str]]:
    """(verb, table) of every chain-table write in ``source``, Core or SQL text."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            func, first = node.func, node.args[0]
            name = func.id if isinstance(func, ast.Name) else None
            if name in VERBS and isinstance(first, ast.Name) and first.id in CHAIN_TABLES:
                found.add((name, first.id))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for verb, table in SQL_WRITE.findall(node.value):
                found.add((verb.split()[0].lower(), table.lower()))
    return found


SOURCES = sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("conn.execute(insert(instances).values(x=1))", {("insert", "instances")}),
        ("conn.execute(update(timers).where(timers.c.id == 1))", {("update", "timers")}),
        ('"INSERT INTO audit_events (id) VALUES (?)"', {("insert", "audit_events")}),
        ('f"UPDATE outbox SET status = {s}"', {("update", "outbox")}),
        ('"SELECT id FROM instances FOR UPDATE"', set()),
        ("conn.execute(insert(actors).values(id='a'))", set()),
    ],
)
def test_the_scan_sees_core_and_sql_text_writes(source, expected):
    assert writes_in(source) == expected


def test_the_writer_writes_every_chain_table():
    written = writes_in((SRC / "store" / "chain_writer.py").read_text(encoding="utf-8"))
    assert {table for _, table in written} >= {"instances", "audit_events", "timers", "outbox"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_other_module_writes_a_chains_rows(path):
    name = module_name(path)
    if name == WRITER:
        return
    writes = {(name, verb, table) for verb, table in writes_in(path.read_text(encoding="utf-8"))}
    assert writes <= QUEUE_WRITES, f"{name} writes a chain's rows itself: {writes - QUEUE_WRITES}"
