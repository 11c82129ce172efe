"""Two dispatchers on one database: never seq n+1 before seq n; a lost lease is not overwritten."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from workflow import Engine
from workflow.events import Event, EventBus, dispatch_pending
from workflow.store.tables import outbox

INSTANCES = 6
PAYS = 3  # each instance: start + 3 self-transitions on "open" = 4 events


@pytest.fixture
def second(database_url, clock, registry) -> Iterator[Engine]:
    """Another engine (its own connection pool) on the same database: a second dispatcher."""
    with Engine.open(database_url, clock=clock, registry=registry) as opened:
        yield opened


def fill(engine: Engine, clerk) -> list[int]:
    ids = []
    for _ in range(INSTANCES):
        instance = engine.start("payment", clerk).instance
        for amount in range(1, PAYS + 1):
            engine.fire(instance.id, "pay", clerk, payload={"paid": amount})
        ids.append(instance.id)
    return ids


def in_seq_order(delivered: list[tuple[int, int]]) -> bool:
    by_instance: dict[int, list[int]] = {}
    for instance_id, seq in delivered:
        by_instance.setdefault(instance_id, []).append(seq)
    return all(seqs == sorted(seqs) for seqs in by_instance.values())


def test_a_second_dispatcher_skips_the_instance_the_first_is_delivering(payment, second, clerk):
    first_id = payment.start("payment", clerk).instance.id
    payment.fire(first_id, "pay", clerk, payload={"paid": 1})
    other_id = payment.start("payment", clerk).instance.id
    delivered: list[tuple[int, int]] = []
    inner = EventBus()
    inner.on("*", lambda e: delivered.append((e.instance_id, e.seq)))
    outer = EventBus()

    def slow_handler(event: Event) -> None:
        if event.instance_id == first_id and event.seq == 1:
            # While A holds seq 1 of the first instance, B runs a whole pass.
            dispatch_pending(second, inner, worker_id="b")
        delivered.append((event.instance_id, event.seq))

    outer.on("*", slow_handler)
    dispatch_pending(payment, outer, worker_id="a", batch=1)
    assert delivered[0] == (other_id, 1)  # B took the other instance, not seq 2 of the first
    assert delivered.index((first_id, 1)) < delivered.index((first_id, 2))
    assert sorted(delivered) == [(first_id, 1), (first_id, 2), (other_id, 1)]


def test_two_dispatchers_in_threads_deliver_each_event_once_in_order(payment, second, clerk):
    fill(payment, clerk)
    total = INSTANCES * (PAYS + 1)
    delivered: list[tuple[int, int]] = []
    lock = threading.Lock()

    def record(event: Event) -> None:
        with lock:
            delivered.append((event.instance_id, event.seq))

    bus = EventBus()
    bus.on("*", record)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(engine: Engine, name: str) -> None:
        try:
            barrier.wait()
            # A pass ends when nothing is claimable now; rows leased by the other dispatcher
            # become claimable once it settles them, so keep passing until all are delivered.
            for _ in range(total * 4):
                dispatch_pending(engine, bus, worker_id=name, batch=2)
                with lock:
                    if len(delivered) >= total:
                        return
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(payment, "a")),
        threading.Thread(target=work, args=(second, "b")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(delivered) == sorted(set(delivered))
    assert len(delivered) == total
    assert in_seq_order(delivered)
    with payment.db.connect() as conn:
        assert set(conn.execute(select(outbox.c.status)).scalars()) == {"delivered"}


def test_a_dispatcher_whose_lease_expired_does_not_overwrite_the_takeover(
    payment, second, clerk, clock
):
    payment.start("payment", clerk)
    seen: list[str] = []
    inner = EventBus()
    inner.on("*", lambda e: seen.append("b"))
    outer = EventBus()

    def too_slow(event: Event) -> None:
        clock.advance(timedelta(minutes=2))  # A overruns its one-minute lease; B takes over
        dispatch_pending(second, inner, worker_id="b")
        seen.append("a")

    outer.on("*", too_slow)
    run = dispatch_pending(payment, outer, worker_id="a", lease=timedelta(minutes=1))
    assert (run.delivered, run.lost, seen) == (0, 1, ["b", "a"])  # at least once: twice here
    with payment.db.connect() as conn:
        row = conn.execute(select(outbox.c.status, outbox.c.attempts)).one()
    assert tuple(row) == ("delivered", 2)
