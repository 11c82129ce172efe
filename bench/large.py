"""The largest definitions the limits allow: a chain of states, made as text at run time.

``chain_definition(n)`` is ``n`` states ``s00000 → s00001 → …`` joined by one trigger, ``next``,
the shape that made validation quadratic (every transition shares the trigger). At 10,000 states
it is about 790 KB, under the 1 MiB file limit. :func:`bench_large` measures it (``bench.run``'s
``large`` section).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.common import median, timed
from workflow import Actor, Engine, StartRequest
from workflow.definition.loader import load_text

CLERK = Actor("clerk-1", ["clerk"])


def chain_definition(states: int, name: str = "chain") -> str:
    """A valid definition of ``states`` states in a line, each moved on by ``next``."""
    lines = [
        f"name: {name}",
        "labels: {vi: Chuỗi, en: Chain}",
        "roles:",
        "  clerk: {vi: Nhân viên, en: Clerk}",
        "states:",
        "  s00000: {initial: true}",
        *(f"  s{i:05d}: {{}}" for i in range(1, states - 1)),
        f"  s{states - 1:05d}: {{final: true}}",
        "transitions:",
        *(
            f"  - {{trigger: next, source: s{i:05d}, dest: s{i + 1:05d}, roles: [clerk]}}"
            for i in range(states - 1)
        ),
    ]
    return "\n".join(lines) + "\n"


def _cpu(work: Callable[[], object]) -> float:
    began = time.process_time()
    work()
    return time.process_time() - began


def validation_cpu(states: int) -> float:
    """CPU seconds to parse and validate the chain of ``states`` (the pipeline of a deploy)."""
    source = chain_definition(states)
    return _cpu(lambda: load_text(source, "chain.yaml"))


def bench_large(
    url: str, states: int, fires: int, runs: int, validations: int = 1
) -> dict[str, Any]:
    """Validation (median of ``validations``) and deploy CPU seconds of the largest chain, and a
    fire on it against a fire on a ten-state chain, interleaved (the ratio of the rates; 1.0 is
    the same cost)."""
    sizes = sorted({min(1_000, states), min(4_000, states), states})
    validate = {
        str(n): round(median([validation_cpu(n) for _ in range(validations)]), 3) for n in sizes
    }
    engine = Engine(url)
    deploy_s = _cpu(lambda: engine.deploy_text(chain_definition(states), filename="chain.yaml"))
    engine.deploy_text(chain_definition(10, "small"), filename="small.yaml")
    ids = {
        name: engine.start_many(name, CLERK, [StartRequest() for _ in range(fires * runs)])
        for name in ("chain", "small")
    }
    engine.close()
    engine = Engine(url)  # a new process's engine: the first fire compiles the stored version
    first_fire_s = _cpu(lambda: engine.fire(ids["chain"][0], "next", CLERK))
    engine.fire(ids["small"][0], "next", CLERK)
    rates: dict[str, list[float]] = {"chain": [], "small": []}
    for run in range(runs):
        for name, measured in rates.items():
            batch = ids[name][1 + run * fires : 1 + (run + 1) * fires]
            seconds = timed(lambda batch=batch: [engine.fire(i, "next", CLERK) for i in batch])
            measured.append(len(batch) / seconds)
    engine.close()
    ratio = median(rates["chain"]) / median(rates["small"])
    return {
        "states": states,
        "validate_cpu_s": validate,
        "large_validate_cpu_s": validate[str(states)],
        "large_deploy_cpu_s": round(deploy_s, 3),
        "first_fire_cpu_s": round(first_fire_s, 3),
        "rates_per_s": rates,
        "fire_large_vs_small": round(ratio, 3),
        "fire_large_vs_small_deviation": round(abs(ratio - 1), 3),
    }
