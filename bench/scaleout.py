"""Throughput of disjoint instances fired from 1, 2, 4, ... processes at once (issue 5).

Each process owns its own instances, so no two ever touch the same row: on PostgreSQL the
transitions per second should grow with processes (up to the server's cores); on SQLite they
cannot, because every write transaction takes the one database lock. Measured, not asserted:

    python bench/scaleout.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench --procs 1,2,4
    python bench/scaleout.py --db sqlite:////tmp/bench.db
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import time

import structlog

from workflow import Actor, Engine

TOGGLE = """\
name: toggle
labels: {vi: Bật tắt, en: Toggle}
roles:
  worker: {vi: Người làm, en: Worker}
states:
  down: {initial: true}
  up: {}
transitions:
  - {trigger: flip, source: down, dest: up, roles: [worker]}
  - {trigger: flip, source: up, dest: down, roles: [worker]}
"""
WORKER = Actor("bench", ["worker"])
FORK = multiprocessing.get_context("fork")


def _worker(url: str, ids: list[int], fires: int, start: object, done: object) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with Engine.open(url) as engine:
        start.wait()  # type: ignore[attr-defined]
        for n in range(fires):
            engine.fire(ids[n % len(ids)], "flip", WORKER)
    done.put(fires)  # type: ignore[attr-defined]


def measure(url: str, procs: int, fires: int, per_proc: int) -> float:
    """Transitions per second with ``procs`` processes firing ``fires`` each."""
    with Engine.open(url) as engine:
        engine.deploy_text(TOGGLE, filename="toggle.yaml")
        ids = [engine.start("toggle", WORKER).instance.id for _ in range(procs * per_proc)]
    start, done = FORK.Barrier(procs + 1), FORK.Queue()
    workers = [
        FORK.Process(target=_worker, args=(url, ids[p::procs], fires, start, done))
        for p in range(procs)
    ]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    total = sum(done.get() for _ in workers)
    elapsed = time.perf_counter() - began
    for w in workers:
        w.join()
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite:////tmp/workflow-bench-scaleout.db")
    parser.add_argument("--procs", default="1,2,4")
    parser.add_argument("--fires", type=int, default=300, help="fires per process")
    parser.add_argument("--instances", type=int, default=5, help="instances per process")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    baseline = None
    for procs in (int(p) for p in args.procs.split(",")):
        rate = measure(args.db, procs, args.fires, args.instances)
        baseline = baseline or rate
        print(f"{procs:>3} processes: {rate:8.1f} transitions/s  (x{rate / baseline:.2f})")


if __name__ == "__main__":
    main()
