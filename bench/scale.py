"""Reads at scale: overdue items, one instance's history, chain verification, the fan-out report.

The big tables are loaded with ``sqlite3`` directly (the engine's schema, made by its
migrations) because starting a million instances one by one would measure the loader, not the
reads. Every chain is a real SHA-256 chain, so ``Engine.verify`` finds no problem.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import resource
import sqlite3
import sys
import threading
import time
from datetime import timedelta
from typing import Any

from bench.common import NOW, TICKET, median, quiet_logs
from workflow import Actor, Engine, FrozenClock, Instance, StartRequest
from workflow.auditing import AuditKeys
from workflow.directives import directive_report
from workflow.hashchain.encoding import GENESIS, canonical_json, event_hash
from workflow.store.tables import directives
from workflow.timers import due_instances

_STAMP = "%Y-%m-%d %H:%M:%S.%f"
_INSTANCE = (
    "INSERT INTO instances (id, workflow, definition_version, state, data, version, active,"
    " unit, coordinating_units, due_at, created_at, updated_at, last_hash)"
    " VALUES (?, 'ticket', 1, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?)"
)
_EVENT = (
    "INSERT INTO audit_events (instance_id, seq, kind, trigger, from_state, to_state, actor,"
    " actor_roles, actor_unit, reason, payload, data, workflow, definition_version,"
    " definition_hash, occurred_at, prev_hash, hash, key_id, mac)"
    " VALUES (?, ?, ?, ?, ?, ?, 'clerk-1', '[\"clerk\"]', NULL, NULL, ?, ?, 'ticket', 1,"
    " ?, ?, ?, ?, ?, ?)"
)
BENCH_KEY = b"bench-audit-key"
"""The audit key of the keyed variants (events sealed under it, verified with it)."""
_CYCLE = ("open", "review")


def _chain(
    instance_id: int, events: int, definition_hash: str, unit: str, keys: AuditKeys | None
) -> tuple[list[tuple], str, str, str]:
    """``events`` audit rows of one instance (start, then submit/reopen back and forth), a legal
    run the verifier replays: each submit merges its payload's amount into the data."""
    rows, prev, state, data = [], GENESIS, "open", "{}"
    for seq in range(1, events + 1):
        at = NOW - timedelta(days=30) + timedelta(minutes=seq)
        start = seq == 1
        dest = "open" if start else _CYCLE[(seq - 1) % 2]
        payload = "{}"
        if start:
            payload = canonical_json({"unit": unit})
        elif dest == "review":
            payload = data = canonical_json({"amount": seq})
        row: dict[str, Any] = {
            "instance_id": instance_id,
            "seq": seq,
            "kind": "start" if start else "transition",
            "trigger": None if start else ("submit" if dest == "review" else "reopen"),
            "from_state": None if start else state,
            "to_state": dest,
            "actor": "clerk-1",
            "actor_roles": '["clerk"]',
            "actor_unit": None,
            "reason": None,
            "payload": payload,
            "data": data,
            "workflow": "ticket",
            "definition_version": 1,
            "definition_hash": definition_hash,
            "occurred_at": at,
            "prev_hash": prev,
        }
        digest = event_hash(row)
        kid, mac = (None, None) if keys is None else keys.seal(digest)
        rows.append(
            (instance_id, seq, row["kind"], row["trigger"], row["from_state"], dest, payload,
             data, definition_hash, at.strftime(_STAMP), prev, digest, kid, mac)
        )  # fmt: skip
        prev, state = digest, dest
    return rows, prev, state, data


def populate(path: str, count: int, events: int, *, keyed: bool = False) -> None:
    """``count`` instances, ~10% overdue (active, due before NOW), each with ``events`` events;
    with ``keyed``, every event sealed under :data:`BENCH_KEY`."""
    keys = AuditKeys((BENCH_KEY,)) if keyed else None
    # Deployed and the clerk registered before the first event: the replay checks each event's
    # actor against its registration, as on a deployment whose people are registered.
    clock = FrozenClock(NOW - timedelta(days=31))
    with Engine(
        f"sqlite:///{path}", audit_keys=keys, keys_from_environment=False, clock=clock
    ) as engine:
        engine.deploy_text(TICKET, filename="ticket.yaml")
        engine.add_actor("clerk-1", ["clerk"])
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")  # a bulk load; the timed reads come after
    (definition_hash,) = conn.execute("SELECT content_hash FROM definitions").fetchone()
    created = (NOW - timedelta(days=30)).strftime(_STAMP)
    chunk = 20_000
    for first in range(1, count + 1, chunk):
        instance_rows, event_rows = [], []
        for instance_id in range(first, min(first + chunk, count + 1)):
            unit = f"unit_{instance_id % 50}"
            chain, last, state, data = _chain(instance_id, events, definition_hash, unit, keys)
            event_rows += chain
            # Every tenth instance is overdue; the others are due later or have no deadline.
            due = NOW - timedelta(hours=instance_id % 1000 + 1) if instance_id % 10 == 0 else (
                NOW + timedelta(days=instance_id % 90 + 1) if instance_id % 10 < 6 else None
            )
            instance_rows.append(
                (instance_id, state, data, events, 1, unit,
                 None if due is None else due.strftime(_STAMP), created, created, last)
            )  # fmt: skip
        conn.execute("BEGIN")
        conn.executemany(_INSTANCE, instance_rows)
        conn.executemany(_EVENT, event_rows)
        conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


RAW_OVERDUE = (
    "SELECT * FROM instances WHERE active = 1 AND due_at < ? ORDER BY due_at, id LIMIT 100"
)
RAW_HISTORY = "SELECT * FROM audit_events WHERE instance_id = ? ORDER BY seq"


def overdue_page(engine: Engine) -> list[Instance]:
    """The first 100 overdue items by due date (index ``(active, due_at)``), through the API."""
    return due_instances(engine, overdue=True, now=NOW, limit=100)


def _ms(action: Any) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def time_reads(path: str, runs: int, count: int) -> dict[str, float]:
    """Medians (ms) of the overdue page and of one instance's history, and the same with sqlite3."""
    raw = sqlite3.connect(path)
    cutoff = NOW.strftime(_STAMP)
    times: dict[str, list[float]] = {"overdue": [], "raw_overdue": [], "history": [],
                                     "raw_history": []}  # fmt: skip
    with Engine(f"sqlite:///{path}") as engine:
        page = overdue_page(engine)
        assert len(page) == min(100, count // 10), len(page)
        for run in range(max(runs, 7)):
            target = 1 + (run * 7919) % count
            times["overdue"].append(_ms(lambda: overdue_page(engine)))
            times["raw_overdue"].append(
                _ms(lambda: raw.execute(RAW_OVERDUE, (cutoff,)).fetchall())
            )
            times["history"].append(_ms(lambda t=target: engine.history(t)))
            times["raw_history"].append(
                _ms(lambda t=target: raw.execute(RAW_HISTORY, (t,)).fetchall())
            )
    raw.close()
    found = {name: median(values) for name, values in times.items()}
    return {
        "overdue_query_ms": found["overdue"],
        "overdue_raw_sqlite3_ms": found["raw_overdue"],
        "overdue_vs_raw": found["raw_overdue"] / found["overdue"],
        "history_ms": found["history"],
        "history_raw_sqlite3_ms": found["raw_history"],
        "history_vs_raw": found["raw_history"] / found["history"],
    }


def _peak_kb(pid: int | str = "self") -> int:
    """The peak RSS of a process since it began its program (``VmHWM``; ``ru_maxrss`` counts
    the parent's pages at the fork too, which is how this benchmark's child once seemed to
    peak at 150 MB: the loader's footprint)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:  # ended meanwhile, or no /proc
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if pid == "self" else 0


class _HelperPeaks:
    """Every 100 ms, the peak RSS of each child process (the verification's helpers), kept."""

    def __init__(self) -> None:
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _HelperPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            for children in glob.glob(f"/proc/{os.getpid()}/task/*/children"):
                with contextlib.suppress(OSError), open(children, encoding="ascii") as listed:
                    for pid in listed.read().split():
                        self.peaks[pid] = max(self.peaks.get(pid, 0), _peak_kb(pid))


def verify(path: str, keyed: bool = False) -> dict[str, Any]:
    """Verify every chain (hashes, the replay of each chain, with ``keyed`` the MACs under
    :data:`BENCH_KEY`) as ``Engine.verify`` does by default (split over a process a core):
    events, ok, seconds, the processes that walked, and the peak RSS (MB) of them all: this
    process's and each helper's, added (an upper bound of their peak together)."""
    keys = AuditKeys((BENCH_KEY,)) if keyed else None
    with (
        Engine(f"sqlite:///{path}", audit_keys=keys, keys_from_environment=False) as engine,
        _HelperPeaks() as helpers,
    ):
        started = time.perf_counter()
        report = engine.verify()
        elapsed = time.perf_counter() - started
    return {
        "events": report.events,
        "ok": report.ok,
        "seconds": elapsed,
        "processes": report.processes,
        "peak_rss_mb": (_peak_kb() + sum(helpers.peaks.values())) / 1024,
        "helper_peaks_mb": sorted(round(kb / 1024, 1) for kb in helpers.peaks.values()),
    }


DIRECTIVE = "01-CT/TW"


def fanout(url: str, units: int) -> tuple[float, float]:
    """(seconds to start ``units`` instances of one directive, ms for its progress report).

    The directive's row is written directly (its document plays no part in the report); the
    report is the library's ``directive_report``: every unit's item, state and deadline status.
    """
    with Engine(url) as engine:
        engine.deploy_text(TICKET, filename="ticket.yaml")
        with engine.transaction() as conn:
            directive_id = conn.execute(
                directives.insert()
                .values(
                    number=DIRECTIVE,
                    issuing_body="Ban Bí thư",
                    place="Hà Nội",
                    issued_on="2026-01-05",
                    subject="bench",
                    timezone="Asia/Ho_Chi_Minh",
                    document={},
                    content_hash="0" * 64,
                    imported_at=NOW,
                    imported_by="bench",
                )
                .returning(directives.c.id)
            ).scalar_one()
        requests = [
            StartRequest(unit=f"unit_{n:05d}", directive_id=directive_id, item_key="1")
            for n in range(units)
        ]
        started = time.perf_counter()
        engine.start_many("ticket", Actor("importer", ["clerk"]), requests)
        seconds = time.perf_counter() - started
        timings = []
        for _ in range(5):
            begun = time.perf_counter()
            report = directive_report(engine, DIRECTIVE, at=NOW)
            timings.append((time.perf_counter() - begun) * 1000)
        assert report.totals.items == len(report.units) == units, report.totals
    return seconds, median(timings)


if __name__ == "__main__":
    # A fresh process, so that its peak RSS is the verification's own.
    quiet_logs()
    print(json.dumps(verify(sys.argv[1], keyed=sys.argv[2:] == ["keyed"])))
