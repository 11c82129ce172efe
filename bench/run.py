"""Run the benchmarks, print a table of targets met or not, write ``bench/results.json``.

    python -m bench.run --quick     # under three minutes, smaller sizes (said in the output)
    python -m bench.run --full      # the sizes of the issue
    python -m bench.run --smoke     # tiny sizes: checks that every figure is produced

Absolute times on a shared machine are noise: every speed is the median of several runs and is
also given as a ratio against a baseline measured in the same run, interleaved with it.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy
import transitions

from bench import fire, large, office, peer, processes, scale, web
from bench.common import (
    FULL,
    QUICK,
    SMOKE,
    Sizes,
    median,
    postgres_available,
    postgres_database,
    quiet_logs,
    sqlite_url,
    timed,
)
from bench.expressions import bench_expressions
from workflow.auditing import AuditKeys

RESULTS = Path(__file__).with_name("results.json")
SECTIONS = (
    "fire_sqlite", "postgres", "async_postgres", "scale", "fanout", "cli", "rss", "large", "web",
    "office", "expressions",
)

# key: (comparison, target, what it is)
TARGETS: dict[str, tuple[str, float, str]] = {
    "fire_vs_raw_sqlite": (">=", 0.6, "engine ÷ raw sqlite3 transitions/s (WAL, NORMAL)"),
    "fire_vs_raw_postgres": (">=", 0.75, "engine ÷ raw psycopg transitions/s"),
    "fire_vs_peer": (">=", 3.0, "engine ÷ transitions+ORM peer on SQLite"),
    "postgres_scaling_2proc": (">=", 1.6, "two engine processes ÷ one, PostgreSQL"),
    "async_vs_raw_async_postgres": (
        ">=", 0.8, "AsyncEngine ÷ raw async psycopg, 32 concurrent tasks, PostgreSQL",
    ),
    "overdue_query_ms": ("<=", 5.0, "first 100 overdue by due date"),
    "history_ms": ("<=", 2.0, "one instance's history"),
    "report_ms": ("<=", 500.0, "one directive's progress report (directive_report)"),
    "verify_events_per_s": (">=", 100_000, "Engine.verify(): hashes + full replay, every chain"),
    "verify_peak_rss_mb": ("<=", 200.0, "peak RSS of the verifying process"),
    "verify_keyed_events_per_s": (">=", 100_000, "the same over keyed events, MACs checked"),
    "verify_keyed_peak_rss_mb": ("<=", 200.0, "peak RSS of the keyed verifying process"),
    "fire_keyed_vs_plain": (">=", 1 / 1.05, "fires/s keyed ÷ unkeyed (time at most 1.05 x)"),
    "import_units_per_s": (">=", 10_000, "Engine.start_many fan-out"),
    "cli_help_s": ("<=", 0.3, "workflow --help"),
    "cli_fire_s": ("<=", 0.5, "one workflow fire, end to end"),
    "rss_growth_mb_100k_fires": ("<=", 20.0, "RSS growth over fires on distinct instances"),
    "report_xlsx_s": ("<=", 2.0, "directive_report + write_report_xlsx, 10,000 units"),
    "export_xlsx_peak_rss_mb": ("<=", 200.0, "peak RSS of audit export --format xlsx, 1M events"),
    "large_validate_cpu_s": ("<=", 2.0, "CPU s to validate the 10,000-state chain"),
    "large_deploy_cpu_s": ("<=", 2.0, "CPU s to deploy it (validate, hash, compile, write)"),
    "fire_large_vs_small_deviation": ("<=", 0.2, "|fire rate on it ÷ on a 10-state chain - 1|"),
    "dashboard_ms": ("<=", 300.0, "web console: a directive's dashboard, server time"),
    "item_page_ms": ("<=", 100.0, "web console: the item page of 1,000 events, server time"),
    "fire_expr_vs_vocabulary": (
        "<=", 1.15, "time of a fire guarded and computed by expressions ÷ in the fixed vocabulary"
    ),
}


def rate(count: int, seconds: float) -> float:
    return count / seconds


def interleaved(
    runs: int, variants: dict[str, Callable[[int], float]]
) -> dict[str, list[float]]:
    """Each variant's rate per run, the variants taking turns within each run."""
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for run in range(runs):
        for name, measure in variants.items():
            rates[name].append(measure(run))
    return rates


def bench_sqlite_fire(sizes: Sizes, folder: Path) -> dict[str, Any]:
    n, p = sizes.fires, sizes.peer_fires
    path = folder / "fire.db"
    engine, ids = fire.prepared_engine(sqlite_url(folder, "fire.db"), 2 * n * sizes.runs)
    keyed, keyed_ids = fire.prepared_engine(
        sqlite_url(folder, "fire_keyed.db"), n * sizes.runs, keys=AuditKeys((scale.BENCH_KEY,))
    )
    peer_engine, peer_ids = peer.peer_database(sqlite_url(folder, "peer.db"), p * sizes.runs)
    raw_ids, engine_ids = ids[: n * sizes.runs], ids[n * sizes.runs :]
    rates = interleaved(
        sizes.runs,
        {
            "raw_sqlite3": lambda r: rate(
                n, timed(lambda: fire.raw_sqlite_fires(str(path), raw_ids[r * n : (r + 1) * n]))
            ),
            "engine": lambda r: rate(
                n, timed(lambda: fire.engine_fires(engine, engine_ids[r * n : (r + 1) * n]))
            ),
            "engine_keyed": lambda r: rate(
                n, timed(lambda: fire.engine_fires(keyed, keyed_ids[r * n : (r + 1) * n]))
            ),
            "peer": lambda r: rate(
                p, timed(lambda: peer.peer_fires(peer_engine, peer_ids[r * p : (r + 1) * p]))
            ),
        },
    )
    for checked in (engine, keyed):
        report = checked.verify()
        assert report.ok, report.problems[:3]
        checked.close()
    peer_engine.dispose()
    return {
        "rates_per_s": rates,
        "fire_vs_raw_sqlite": _ratio(rates["engine"], rates["raw_sqlite3"]),
        "fire_keyed_vs_plain": _ratio(rates["engine_keyed"], rates["engine"]),
        "fire_vs_peer": _ratio(rates["engine"], rates["peer"]),
    }


def bench_postgres(sizes: Sizes) -> dict[str, Any]:
    n, runs = sizes.pg_fires, sizes.runs
    with postgres_database() as url:
        engine, ids = fire.prepared_engine(url, runs * (2 * n + 3 * (n + 1)), upgrade=True)
        raw_ids, engine_ids = ids[: n * runs], ids[n * runs : 2 * n * runs]
        spare = iter(ids[2 * n * runs :])

        def take(count: int) -> list[int]:
            return [next(spare) for _ in range(count)]

        rates = interleaved(
            runs,
            {
                "raw_psycopg": lambda r: rate(
                    n, timed(lambda: fire.raw_postgres_fires(url, raw_ids[r * n : (r + 1) * n]))
                ),
                "engine": lambda r: rate(
                    n, timed(lambda: fire.engine_fires(engine, engine_ids[r * n : (r + 1) * n]))
                ),
                "engine_1proc": lambda r: processes.parallel_rate(url, [take(n + 1)]),
                "engine_2proc": lambda r: processes.parallel_rate(
                    url, [take(n + 1), take(n + 1)]
                ),
            },
        )
        engine.close()
    return {
        "rates_per_s": rates,
        "fire_vs_raw_postgres": _ratio(rates["engine"], rates["raw_psycopg"]),
        "postgres_scaling_2proc": _ratio(rates["engine_2proc"], rates["engine_1proc"]),
    }


def bench_async_postgres(sizes: Sizes) -> dict[str, Any]:
    """32 concurrent tasks: the async engine against raw async psycopg (bench/async_pg.py)."""
    from bench import async_pg
    from workflow.embedding import AsyncEngine

    n, runs = sizes.pg_fires * 4, sizes.runs
    with postgres_database() as url:
        setup, ids = fire.prepared_engine(url, runs * 2 * n, upgrade=True)
        setup.close()
        engine = AsyncEngine(async_pg.pooled_engine(url), max_threads=async_pg.TASKS)
        halves = {"raw": ids[: n * runs], "engine": ids[n * runs :]}
        rates = interleaved(
            runs,
            {
                "raw_async_psycopg": lambda r: async_pg.raw_async_rate(
                    url, halves["raw"][r * n : (r + 1) * n]
                ),
                "async_engine": lambda r: async_pg.async_engine_rate(
                    engine, halves["engine"][r * n : (r + 1) * n]
                ),
            },
        )
        engine.sync.close()
    return {
        "tasks": async_pg.TASKS,
        "rates_per_s": rates,
        "async_vs_raw_async_postgres": _ratio(rates["async_engine"], rates["raw_async_psycopg"]),
    }


def bench_scale(sizes: Sizes, folder: Path) -> dict[str, Any]:
    path = str(folder / "scale.db")
    count, per = sizes.scale_instances, sizes.scale_events_per_instance
    load_s = timed(lambda: scale.populate(path, count, per))
    reads = scale.time_reads(path, sizes.runs, count)
    keyed_path = str(folder / "scale_keyed.db")
    scale.populate(keyed_path, count, per, keyed=True)

    def verified(at: str, *keyed: str) -> dict[str, Any]:
        if sizes.own_processes:
            return processes.run_child("bench.scale", at, *keyed)
        return scale.verify(at, keyed=bool(keyed))

    verifies, keyed_verifies = [], []
    for _ in range(sizes.runs):  # the two take turns
        verifies.append(verified(path))
        keyed_verifies.append(verified(keyed_path, "keyed"))
    every = [*verifies, *keyed_verifies]
    assert all(v["ok"] and v["events"] == count * per for v in every), every
    return {
        **reads,
        "verify_events_per_s": median([v["events"] / v["seconds"] for v in verifies]),
        "verify_peak_rss_mb": max(v["peak_rss_mb"] for v in verifies),
        "verify_keyed_events_per_s": median(
            [v["events"] / v["seconds"] for v in keyed_verifies]
        ),
        "verify_keyed_peak_rss_mb": max(v["peak_rss_mb"] for v in keyed_verifies),
        "verify_processes": max(v["processes"] for v in every),
        "instances": count,
        "audit_events": count * per,
        "load_seconds": load_s,
    }


def bench_fanout(sizes: Sizes, folder: Path) -> dict[str, Any]:
    outcomes = [
        scale.fanout(sqlite_url(folder, f"fanout{r}.db"), sizes.fanout_units)
        for r in range(sizes.runs)
    ]
    return {
        "import_units_per_s": median([sizes.fanout_units / s for s, _ in outcomes]),
        "report_ms": median([ms for _, ms in outcomes]),
        "units": sizes.fanout_units,
    }


def bench_office(sizes: Sizes, folder: Path) -> dict[str, Any]:
    """The report over the fan-out's units as xlsx; the audit log as xlsx in a fresh process."""
    found = office.report_xlsx(sqlite_url(folder, "office.db"), sizes.fanout_units, sizes.runs)
    events = min(1_000_000, sizes.scale_instances * sizes.scale_events_per_instance)
    path = str(folder / "office_log.db")
    scale.populate(path, events // 5, 5)
    exported = (
        processes.run_child("bench.office", path)
        if sizes.own_processes
        else office.export_xlsx(path)
    )
    assert exported["export_xlsx_events"] == events, exported
    return {**found, **exported}


def bench_rss(sizes: Sizes, folder: Path) -> dict[str, Any]:
    url = sqlite_url(folder, "rss.db")
    out = (
        processes.run_child("bench.processes", url, str(sizes.rss_fires))
        if sizes.own_processes
        else processes.rss(url, sizes.rss_fires)
    )
    return {"rss_growth_mb_100k_fires": out["after_mb"] - out["before_mb"], **out}


def _ratio(numerator: list[float], denominator: list[float]) -> float:
    return median(numerator) / median(denominator)


def met(key: str, value: float | None) -> bool | None:
    if value is None:
        return None
    op, target, _ = TARGETS[key]
    return value >= target if op == ">=" else value <= target


def notes(sizes: Sizes, pg: bool) -> list[str]:
    said = [
        f"mode {sizes.mode}: {sizes.runs} runs per figure; fires per run: {sizes.fires} on "
        f"SQLite (peer {sizes.peer_fires}), {sizes.pg_fires} on PostgreSQL per process",
        "raw baselines do the writes the engine must do (read the instance, update with the "
        "version check, audit row with its SHA-256 chain hash, outbox row, commit); the engine "
        "also cancels the left state's live timers on a change of state, which they do not (on "
        "SQLite a fifth statement when its locking read found live timers, none in this "
        "benchmark; part of its one write statement on PostgreSQL)",
        "peer: transitions.Machine built per instance + SQLAlchemy ORM session per transition "
        "+ history table (no hash chain, no outbox)",
        f"overdue_query_ms and history_ms: {sizes.scale_instances:,} instances, "
        f"{sizes.scale_instances * sizes.scale_events_per_instance:,} audit events"
        + ("" if sizes.mode == "full" else " (the issue sizes are 1,000,000 and 5,000,000)"),
        "overdue_query_ms: due_instances(engine, overdue=True, limit=100), the first 100 "
        "overdue instances by due date (index (active, due_at)) as Instance records",
        "history_ms: Engine.history(instance_id); verify: Engine.verify() in a fresh process: "
        "every hash, and every chain replayed as a legal run (half its events apply a merge "
        "effect); verify_keyed: the same database shape with every event sealed under a key, "
        "the MACs checked too; as Engine.verify does by default, the chains split over a "
        "process a core (verify_processes); the peak RSS is the verifying process's plus, for "
        "each helper, the largest helper's",
        "fire_keyed_vs_plain: engine fires with an audit key ÷ without, interleaved",
        f"import_units_per_s: Engine.start_many of {sizes.fanout_units:,} instances of one "
        "directive (what the directive importer calls); report_ms: "
        "directive_report(engine, number) over them, every unit's item with its state and "
        "deadline status, per-unit summaries and totals (the directive's row is written "
        "directly: the report does not read its document)",
        f"rss_growth_mb_100k_fires: over {sizes.rss_fires:,} fires on distinct instances"
        + ("" if sizes.mode == "full" else " (the issue size is 100,000)"),
        f"large_*: the chain of {sizes.large_states:,} states of bench/large.py (CPU seconds, "
        "process_time; validation the median of the runs in full mode, one run otherwise); "
        "fire_large_vs_small: fires on it ÷ fires on a chain of 10 states, on SQLite, each "
        "instance fired once, interleaved runs",
        f"dashboard_ms: the web console's dashboard of one directive over "
        f"{sizes.fanout_units:,} units (a third overdue, a fifth done), its data read as an "
        "auditor and its template rendered; report_json_ms: directive_report + report_json of "
        "the same directive in the same run, interleaved; item_page_ms: the item page of an "
        "instance with 1,000 events (timeline, diagram, state at the last event) rendered",
        "cli_*: subprocess wall time of the installed `workflow` script, the library and CLI "
        "byte-compiled first as a wheel install does; compare python_startup_s, a bare "
        "interpreter, in the same run",
        f"report_xlsx_s: directive_report + write_report_xlsx over {sizes.fanout_units:,} units "
        "(three sheets), median of the runs; export_xlsx_*: write_audit_xlsx over "
        f"{min(1_000_000, sizes.scale_instances * sizes.scale_events_per_instance):,} events "
        "and the administrators' log in a fresh process (XlsxWriter constant_memory), its peak "
        "RSS and wall time",
    ]
    if not pg:
        said.append("PostgreSQL skipped or not reachable: its figures are null")
    return said


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--full", action="store_true", help="the sizes of the issue")
    group.add_argument("--quick", action="store_true", help="smaller sizes, under 3 minutes")
    group.add_argument("--smoke", action="store_true", help="tiny sizes (a test's check)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--only", metavar="SECTION,...", help=f"run only these sections ({', '.join(SECTIONS)})"
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="skip PostgreSQL (its figures are null)"
    )
    args = parser.parse_args(argv)
    chosen = set(args.only.split(",")) if args.only else set(SECTIONS)
    if chosen - set(SECTIONS):
        parser.error(f"unknown section(s): {', '.join(sorted(chosen - set(SECTIONS)))}")
    sizes = FULL if args.full else SMOKE if args.smoke else QUICK
    quiet_logs()
    pg = not args.no_postgres and postgres_available()
    started = time.perf_counter()
    details: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="workflow-bench-") as tmp:
        folder = Path(tmp)
        for name, section in (
            ("fire_sqlite", lambda: bench_sqlite_fire(sizes, folder)),
            ("postgres", (lambda: bench_postgres(sizes)) if pg else None),
            ("async_postgres", (lambda: bench_async_postgres(sizes)) if pg else None),
            ("scale", lambda: bench_scale(sizes, folder)),
            ("fanout", lambda: bench_fanout(sizes, folder)),
            ("cli", lambda: processes.cli_times(folder, sizes.cli_runs)),
            ("rss", lambda: bench_rss(sizes, folder)),
            ("web", lambda: web.run(
                sqlite_url(folder, "web.db"), sizes.fanout_units, 1_000, sizes.runs,
            )),
            ("large", lambda: large.bench_large(
                sqlite_url(folder, "large.db"), sizes.large_states, sizes.peer_fires, sizes.runs,
                validations=sizes.runs if sizes.mode == "full" else 1,
            )),
            ("office", lambda: bench_office(sizes, folder)),
            ("expressions", lambda: bench_expressions(sizes, folder)),
        ):  # fmt: skip
            if section is None or name not in chosen:
                continue
            begun = time.perf_counter()
            details[name] = section()
            details[name]["section_seconds"] = round(time.perf_counter() - begun, 1)
            print(f"  {name}: {details[name]['section_seconds']} s", flush=True)
    figures = {k: _find(details, k) for k in TARGETS}
    document = {
        "mode": sizes.mode,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": {"python": platform.python_version(), "cpus": _cpus(),
                    "sqlalchemy": sqlalchemy.__version__, "transitions": transitions.__version__},
        **figures,
        "targets": {k: f"{op} {t:g}" for k, (op, t, _) in TARGETS.items()},
        "met": {k: met(k, v) for k, v in figures.items()},
        "sizes": sizes.__dict__,
        "notes": notes(sizes, pg),
        "details": details,
    }  # fmt: skip
    args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(table(document))
    return 0


def _find(details: dict[str, Any], key: str) -> float | None:
    for section in details.values():
        if key in section:
            return float(section[key])
    return None


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def table(document: dict[str, Any]) -> str:
    lines = [
        f"workflow benchmarks, mode {document['mode']} ({document['seconds']} s)",
        f"{'figure':<26} {'value':>12}  {'target':<10} {'met':<7} what",
    ]
    for key, (_, _, what) in TARGETS.items():
        value, ok = document[key], document["met"][key]
        shown = "n/a" if value is None else f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
        verdict = "n/a" if ok is None else "met" if ok else "NOT MET"
        lines.append(f"{key:<26} {shown:>12}  {document['targets'][key]:<10} {verdict:<7} {what}")
    lines += [f"note: {n}" for n in document["notes"]]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
