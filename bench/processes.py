"""Measurements that need processes of their own: two writers at once, memory, the CLI."""

from __future__ import annotations

import compileall
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cli
import workflow
from bench.common import median, quiet_logs, rss_mb
from bench.fire import engine_fires, prepared_engine
from workflow import Actor, Engine


def _fire_worker(url: str, ids: list[int], barrier: Any, results: Any) -> None:
    quiet_logs()
    with Engine(url) as engine:
        engine.fire(ids[0], "submit", Actor("clerk-1", ["clerk"]), payload={"amount": 1})
        barrier.wait()
        started = time.time()
        engine_fires(engine, ids[1:])
        results.put((started, time.time(), len(ids) - 1))


def parallel_rate(url: str, slices: Sequence[list[int]]) -> float:
    """Transitions/s of one engine process per slice, all started together (wall clock)."""
    context = mp.get_context("spawn")
    barrier, results = context.Barrier(len(slices)), context.Queue()
    workers = [
        context.Process(target=_fire_worker, args=(url, list(s), barrier, results))
        for s in slices
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    begun = min(o[0] for o in outcomes)
    ended = max(o[1] for o in outcomes)
    return sum(o[2] for o in outcomes) / (ended - begun)


def rss(url: str, fires: int) -> dict[str, Any]:
    """RSS before and after one fire on each of ``fires`` distinct instances, after a warm-up."""
    warm = min(1_000, fires)
    engine, ids = prepared_engine(url, fires + warm)
    engine_fires(engine, ids[:warm])  # the compiled machine, statement caches, the pool
    before = rss_mb()
    engine_fires(engine, ids[warm:])
    after = rss_mb()
    engine.close()
    return {"fires": fires, "before_mb": before, "after_mb": after}


def run_child(module: str, *args: str) -> dict[str, Any]:
    """Run ``python -m module args`` and parse the JSON document it prints last."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _seconds(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, env=env)
    return time.perf_counter() - started


def byte_compile() -> None:
    """Byte-compile the library and the CLI, as installing the wheel does.

    This checkout is installed editable, which compiles nothing; with PYTHONDONTWRITEBYTECODE
    set (as on the benchmark machine) every `workflow` process would compile our ~50 modules
    from source again, a cost no installed copy pays.
    """
    for package in (workflow, cli):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


def cli_times(folder: Path, runs: int) -> dict[str, float]:
    """Medians of ``workflow --help``, one ``workflow fire`` and a bare ``python -c pass``."""
    byte_compile()
    script = str(Path(sys.executable).with_name("workflow"))
    url = f"sqlite:///{folder / 'cli.db'}"
    quiet_logs()
    engine, ids = prepared_engine(url, runs + 1)
    engine.add_actor("clerk-1", ["clerk"])
    engine.close()
    env = {**os.environ, "WORKFLOW_DATABASE_URL": url}
    bare = [_seconds([sys.executable, "-c", "pass"], env) for _ in range(runs)]
    helps = [_seconds([script, "--help"], env) for _ in range(runs)]
    fires = [
        _seconds([script, "fire", str(i), "submit", "--actor", "clerk-1"], env)
        for i in ids[:runs]
    ]
    return {"python_startup_s": median(bare), "cli_help_s": median(helps),
            "cli_fire_s": median(fires)}  # fmt: skip


if __name__ == "__main__":
    # A fresh process, so that nothing measured before weighs on its memory.
    quiet_logs()
    print(json.dumps(rss(sys.argv[1], int(sys.argv[2]))))
