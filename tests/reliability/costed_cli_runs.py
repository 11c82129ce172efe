"""Run the real CLI many times in one fresh process, recording each run's output and cost.

Usage: ``python costed_cli_runs.py SPEC.json OUT.json``;
SPEC is ``{"db": URL, "runs": [argv, ...]}``.
Each run calls ``cli.main.main(argv)`` with file descriptors 1 and 2 sent to files (so that
logging, configured once per run, is captured too) and records the exit code, stdout, stderr,
CPU seconds (``resource.getrusage``), how far peak resident memory rose, and the database's row
counts per table afterwards. One interpreter start serves the whole list.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile

from sqlalchemy import func, select

from cli.main import main
from workflow import Engine
from workflow.store.tables import metadata

_ENGINES: dict[str, Engine] = {}


def row_counts(url: str) -> dict[str, int]:
    engine = _ENGINES.get(url) or _ENGINES.setdefault(url, Engine(url, check_schema=False))
    with engine.db.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


def _captured(argv: list[str]) -> tuple[object, str, str]:
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        code: object = 0
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        err.seek(0)
        return code, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")


def run(argv: list[str], db: str) -> dict[str, object]:
    before = resource.getrusage(resource.RUSAGE_SELF)
    code, stdout, stderr = _captured(argv)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "argv": argv,
        "exit": code,
        "stdout": stdout,
        "stderr": stderr,
        "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "rss_rise_kb": after.ru_maxrss - before.ru_maxrss,
        "rows_after": row_counts(db),
    }


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    # The database exists before the runs (read commands never create one), and warm up:
    # imports and the first schema check are not what a hostile input costs.
    Engine.open(spec["db"]).close()
    run(["--db", spec["db"], "definitions", "list"], spec["db"])
    results = {"rows_before": row_counts(spec["db"]), "runs": []}
    results["runs"] = [run(argv, spec["db"]) for argv in spec["runs"]]
    with open(sys.argv[2], "w", encoding="utf-8") as handle:
        json.dump(results, handle)
