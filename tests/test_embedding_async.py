"""The async engine under a real event loop (anyio's pytest plugin, asyncio): concurrent tasks,
one winner per race, the application's statements and the engine's verbs in one transaction
(committed, rolled back on error, rolled back when the task is cancelled)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
import sqlalchemy as sa
from embedding_support import App, application
from support import PAYMENT

from workflow import Actor, ConcurrentModification, FrozenClock, Registry
from workflow.embedding import AsyncEngine
from workflow.events import list_events

pytestmark = pytest.mark.anyio
CLERK = Actor("clerk-1", ["clerk"])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def app(database_url: str, clock: FrozenClock, registry: Registry) -> AsyncIterator[App]:
    with application(database_url, clock, registry) as made:
        made.workflow.deploy_text(PAYMENT, filename="payment.yaml")
        yield made


async def test_concurrent_tasks_each_fire_their_own_instance(app: App) -> None:
    engine = AsyncEngine(app.workflow)
    ids = [(await engine.start("payment", CLERK)).instance.id for _ in range(12)]
    states: dict[int, str] = {}

    async def pay(instance_id: int) -> None:
        states[instance_id] = (
            await engine.fire(instance_id, "pay", CLERK, payload={"paid": 100})
        ).state

    async with anyio.create_task_group() as group:
        for instance_id in ids:
            group.start_soon(pay, instance_id)
    assert states == dict.fromkeys(ids, "paid")
    assert (await engine.verify()).ok


async def test_racing_tasks_on_one_version_have_one_winner(app: App) -> None:
    engine = AsyncEngine(app.workflow, max_threads=4)
    instance_id = (await engine.start("payment", CLERK)).instance.id
    outcomes: list[str] = []

    async def pay(amount: int) -> None:
        try:
            await engine.fire(
                instance_id, "pay", CLERK, payload={"paid": amount}, expected_version=1
            )
            outcomes.append("won")
        except ConcurrentModification:
            outcomes.append("lost")

    async with anyio.create_task_group() as group:
        for amount in range(8):
            group.start_soon(pay, amount)
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]
    assert (await engine.get(instance_id)).version == 2


async def test_the_applications_statements_and_a_fire_commit_together(app: App) -> None:
    engine = AsyncEngine(app.workflow)
    instance_id = (await engine.start("payment", CLERK)).instance.id
    async with engine.transaction() as tx:
        await tx.run(lambda conn: conn.execute(sa.insert(app.uploads).values(name="a.pdf")))
        menu = await tx.available_triggers(instance_id, CLERK, payload={"paid": 100})
        assert menu.allowed == ("pay", "cancel")
        await tx.fire(instance_id, "pay", CLERK, payload={"paid": 100})
    assert app.upload_names() == ["a.pdf"]
    assert (await engine.get(instance_id)).state == "paid"
    assert len(list_events(app.workflow, instance_id=instance_id)) == 2


async def test_an_error_in_the_block_rolls_both_back(app: App) -> None:
    engine = AsyncEngine(app.workflow)
    instance_id = (await engine.start("payment", CLERK)).instance.id
    with pytest.raises(LookupError):
        await _upload_pay_then(engine, app, instance_id, _raise_lookup)
    assert app.upload_names() == []
    assert (await engine.get(instance_id)).version == 1
    assert (await engine.verify()).ok


async def test_a_cancelled_task_rolls_its_transaction_back(app: App) -> None:
    """Cancelled while its transaction is open (after its fire): nothing of it is left, and
    the connection is back in the pool for the next transaction."""
    engine = AsyncEngine(app.workflow)
    instance_id = (await engine.start("payment", CLERK)).instance.id
    fired = anyio.Event()

    async def wait_for_ever() -> None:
        fired.set()
        await anyio.sleep_forever()

    async with anyio.create_task_group() as group:
        group.start_soon(_upload_pay_then, engine, app, instance_id, wait_for_ever)
        await fired.wait()
        group.cancel_scope.cancel()
    assert app.upload_names() == []
    assert (await engine.get(instance_id)).version == 1
    done = await engine.fire(instance_id, "pay", CLERK, payload={"paid": 100})
    assert done.instance.version == 2
    assert (await engine.verify()).ok


async def _raise_lookup() -> None:
    raise LookupError("the application's own failure")


async def _upload_pay_then(engine: AsyncEngine, app: App, instance_id: int, then) -> None:
    async with engine.transaction() as tx:
        await tx.run(lambda conn: conn.execute(sa.insert(app.uploads).values(name="x.pdf")))
        await tx.fire(instance_id, "pay", CLERK, payload={"paid": 100})
        await then()
