"""start_many writes its batch with the same rows, ids, chains and outbox as one start at a time."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from workflow import Actor, Engine, InvalidInput, StartRequest
from workflow.store.tables import instances, outbox, timers

EXPIRY = """\
name: batch
labels: {vi: Lô, en: Batch}
roles: {clerk: {vi: Nhân viên, en: Clerk}}
fields: {note: {type: string}}
states:
  queued: {initial: true, timers: [{trigger: lapse, after: PT2H}]}
  lapsed: {final: true}
transitions: [{trigger: lapse, source: queued, dest: lapsed, roles: [system]}]
"""

CLERK = Actor("c", ["clerk"])


@pytest.fixture
def expiry(engine: Engine) -> Engine:
    engine.deploy_text(EXPIRY, filename="batch.yaml")
    return engine


def _shape(engine: Engine, instance_id: int) -> tuple[object, ...]:
    got = engine.get(instance_id)
    events = engine.history(instance_id)
    return (
        got.state,
        repr(got.data),
        got.unit,
        got.version,
        tuple((e.kind, e.to_state) for e in events),
    )


def test_batch_rows_match_single_starts(expiry: Engine) -> None:
    single = expiry.start("batch", CLERK, data={"note": "a"}, unit="u1").instance.id
    batch = expiry.start_many(
        "batch", CLERK, [StartRequest(data={"note": "a"}, unit="u1") for _ in range(3)]
    )
    assert batch == sorted(batch)
    assert batch[0] > single
    assert {_shape(expiry, i) for i in batch} == {_shape(expiry, single)}
    assert expiry.verify().ok
    with expiry.db.connect() as conn:
        per_instance = conn.execute(
            select(outbox.c.instance_id, timers.c.instance_id).join(
                timers, timers.c.instance_id == outbox.c.instance_id
            )
        ).all()
    assert sorted(i for i, _ in per_instance) == sorted([single, *batch])


def test_batch_heads_hold_their_chain_hash(expiry: Engine) -> None:
    ids = expiry.start_many("batch", CLERK, [StartRequest() for _ in range(4)])
    with expiry.db.connect() as conn:
        heads = dict(conn.execute(select(instances.c.id, instances.c.last_hash)).all())
    assert [heads[i] for i in ids] == [expiry.history(i)[-1].hash for i in ids]


def test_empty_batch_writes_nothing(expiry: Engine) -> None:
    assert expiry.start_many("batch", CLERK, []) == []


def test_one_bad_request_leaves_the_batch_unwritten(expiry: Engine) -> None:
    requests = [StartRequest(data={"note": "ok"}), StartRequest(data={"note": 5})]
    with pytest.raises(InvalidInput):
        expiry.start_many("batch", CLERK, requests)
    with expiry.db.connect() as conn:
        assert conn.execute(select(instances.c.id)).all() == []
