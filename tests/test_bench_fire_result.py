"""The result of start and fire, built from the values in hand, equals what a re-read gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workflow import Actor

CLERK = Actor("clerk-1", ["clerk"])


def test_fire_result_equals_the_stored_rows(payment):
    started = payment.start("payment", CLERK, data={"amount": 150})
    fired = payment.fire(
        started.instance.id, "pay", CLERK, payload={"paid": 120, "note": "Đã trả"}
    )
    assert fired.instance == payment.get(started.instance.id)
    assert fired.event == payment.history(started.instance.id)[-1]


def test_start_result_equals_the_stored_rows(payment):
    started = payment.start("payment", CLERK, data={"note": "Kế hoạch", "amount": 1.5})
    assert started.instance == payment.get(started.instance.id)
    assert started.event == payment.history(started.instance.id)[0]


def test_smoke_benchmark_writes_every_key(tmp_path: Path):
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--no-postgres", "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[1],
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    from bench.run import TARGETS

    document = json.loads(output.read_text())
    assert set(TARGETS) <= set(document)
