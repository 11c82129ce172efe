"""Office files: the directive report as xlsx over many units, the audit log as xlsx in constant
memory.

``report_xlsx``: a directive fanned out to ``units`` units (as :func:`bench.scale.fanout` does),
then ``directive_report`` and ``write_report_xlsx`` to a file, end to end (the library's part of
``workflow directive report --format xlsx``).

``export_xlsx`` (run in a fresh process, ``python -m bench.office PATH``, so that its peak RSS is
the export's own): ``write_audit_xlsx`` over every event of a database that
:func:`bench.scale.populate` filled, with the administrators' log, as ``audit export --format
xlsx`` does.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import median, quiet_logs
from bench.scale import DIRECTIVE, NOW, fanout
from workflow import Engine
from workflow.auditing import admin_log_records, audit_rows, write_audit_xlsx
from workflow.directives import directive_report, write_report_xlsx


def report_xlsx(url: str, units: int, runs: int) -> dict[str, Any]:
    """Seconds (median of ``runs``) for the report of ``units`` units as an xlsx file."""
    fanout(url, units)
    timings, size = [], 0
    with Engine(url) as engine, tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "report.xlsx"
        for _ in range(runs):
            begun = time.perf_counter()
            report = directive_report(engine, DIRECTIVE, at=NOW)
            with target.open("wb") as out:
                write_report_xlsx(report, out)
            timings.append(time.perf_counter() - begun)
            size = target.stat().st_size
        assert report.totals.items == units
    return {"report_xlsx_s": median(timings), "report_xlsx_units": units, "report_xlsx_bytes": size}


def export_xlsx(path: str) -> dict[str, Any]:
    """Export every event of the SQLite file ``path`` as xlsx: events, seconds, peak RSS (MB)."""
    with Engine(f"sqlite:///{path}") as engine, tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "audit.xlsx"
        begun = time.perf_counter()
        with target.open("wb") as out:
            events = write_audit_xlsx(
                audit_rows(engine), out, "Asia/Ho_Chi_Minh", admin_log_records(engine)
            )
        seconds = time.perf_counter() - begun
        size = os.path.getsize(target)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "export_xlsx_events": events,
        "export_xlsx_s": seconds,
        "export_xlsx_peak_rss_mb": peak_mb,
        "export_xlsx_bytes": size,
    }


if __name__ == "__main__":
    quiet_logs()
    print(json.dumps(export_xlsx(sys.argv[1])))
