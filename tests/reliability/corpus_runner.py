"""Run the real CLI over hostile definition files in a fresh process, measuring each case.

Usage: ``python corpus_runner.py OUT.json DB_URL FILE...``. For every file it runs
``workflow definitions validate FILE`` and ``workflow --db DB_URL definitions deploy FILE`` in
this process (one interpreter start for the whole corpus) and records the exit code, what was
printed, the CPU seconds used (``resource.getrusage``), how far the peak resident memory rose
and the total row count of the database afterwards.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys

from sqlalchemy import create_engine, func, select

from cli.main import main
from workflow.store.tables import metadata


def row_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        total = sum(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        )
    engine.dispose()
    return total


def run(argv: list[str]) -> dict[str, object]:
    before = resource.getrusage(resource.RUSAGE_SELF)
    out, err = io.StringIO(), io.StringIO()
    code: object = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "exit": code,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "rss_rise_kb": after.ru_maxrss - before.ru_maxrss,
    }


def corpus(out_path: str, db_url: str, files: list[str]) -> None:
    # Warm up: imports and the first schema check are not what a hostile file costs.
    run(["--db", db_url, "definitions", "list"])
    baseline = row_count(db_url)
    results = {}
    for file in files:
        validate = run(["definitions", "validate", file])
        deploy = run(["--db", db_url, "definitions", "deploy", file])
        deploy["rows_after"] = row_count(db_url)
        results[file] = {"validate": validate, "deploy": deploy}
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump({"rows_before": baseline, "cases": results}, handle)


if __name__ == "__main__":
    corpus(sys.argv[1], sys.argv[2], sys.argv[3:])
