"""A fire whose guard and effect are expressions against the same fire in the fixed vocabulary.

Both workflows move an instance ``open → open`` on ``charge`` with a payload ``amount``: one
guards with ``compare: {field: payload.amount, op: gt, value: 0}`` and stores it with ``merge``,
the other guards with ``expr: "payload.amount > 0.0"`` and stores it with ``compute: {amount:
"payload.amount"}``. Same rows written, same data; the difference is the cost of the expressions
(compiled closures, docs/expressions.md). Interleaved runs on SQLite, one commit per fire, each on
its own instance; both chains verified after. The cost is the process's CPU time per fire (SQLite
works in the process): on a shared machine, wall time swings with the other processes' load.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import Sizes, sqlite_url
from workflow import Actor, Engine, StartRequest

CLERK = Actor("clerk-1", ["clerk"])
_HEAD = """\
name: charge
labels: {vi: Thu tiền, en: Charge}
roles: {clerk: null}
fields:
  amount: {type: number}
states:
  open: {initial: true}
  closed: {final: true}
transitions:
  - {trigger: close, source: open, dest: closed, roles: [clerk]}
  - trigger: charge
    source: open
    dest: open
    roles: [clerk]
"""
VOCABULARY = _HEAD + """\
    guards: [{compare: {field: payload.amount, op: gt, value: 0}}]
    effects: [{merge: [amount]}]
"""
EXPRESSIONS = _HEAD + """\
    guards: [{expr: "payload.amount > 0.0"}]
    effects: [{compute: {amount: "payload.amount"}}]
"""


def _fires(engine: Engine, ids: Sequence[int]) -> None:
    for instance_id in ids:
        engine.fire(instance_id, "charge", CLERK, payload={"amount": 125.5})


def bench_expressions(sizes: Sizes, folder: Path) -> dict[str, Any]:
    from bench.run import _ratio, interleaved, rate

    n, runs = sizes.peer_fires, sizes.runs
    prepared: dict[str, tuple[Engine, list[int]]] = {}
    for name, source in (("vocabulary", VOCABULARY), ("expressions", EXPRESSIONS)):
        engine = Engine.open(sqlite_url(folder, f"charge_{name}.db"))
        engine.deploy_text(source, filename=f"{name}.yaml")
        ids = engine.start_many("charge", CLERK, [StartRequest() for _ in range(n * runs)])
        prepared[name] = (engine, ids)

    def measure(name: str, run: int) -> float:
        engine, ids = prepared[name]
        started = time.process_time()
        _fires(engine, ids[run * n : (run + 1) * n])
        return rate(n, time.process_time() - started)

    rates = interleaved(
        runs,
        {
            "vocabulary": lambda r: measure("vocabulary", r),
            "expressions": lambda r: measure("expressions", r),
        },
    )
    for engine, _ in prepared.values():
        report = engine.verify()
        assert report.ok, report.problems[:3]
        engine.close()
    return {
        "fires_per_cpu_s": rates,
        # cost ratio: time per expression fire ÷ time per vocabulary fire
        "fire_expr_vs_vocabulary": _ratio(rates["vocabulary"], rates["expressions"]),
    }
