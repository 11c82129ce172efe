"""A definition's cost is bounded: documented size limits, linear checks, no compile under a lock.

Speed itself is measured in ``bench/`` (``large_definition``); here the *shape* of the work is
held: the Python lines run to validate and compile a chain of states grow in proportion to the
chain (a quadratic check would quadruple them when the chain doubles), every limit is refused
with a message naming it, and no database connection is held while a definition is validated or
compiled, so a fire on another workflow never waits for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from directive_support import DIRECTIVE, FAN_OUT_WORKFLOWS, deploy, few_units
from support import PAYMENT

from bench.large import chain_definition
from workflow import Actor, DefinitionError, Engine, Registry
from workflow._machine import CompiledMachine
from workflow.catalog import content_hash, stored_definition
from workflow.definition import loader
from workflow.definition.loader import load_text
from workflow.definition.validate import Names
from workflow.directives import import_directive, import_units
from workflow.limits import MAX_ALTERNATIVES, MAX_STATES, MAX_TRANSITIONS

CLERK = Actor("clerk-1", ["clerk"])


def lines_run(work: Callable[[], object]) -> int:
    """How many Python lines ``work`` runs (a count of work, the same on any machine)."""
    count = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        work()
    finally:
        sys.settrace(None)
    return count


def validate_and_compile(states: int) -> int:
    source = chain_definition(states)
    return lines_run(
        lambda: CompiledMachine(load_text(source, "chain.yaml"), "", 1, Registry())
    )


def test_validating_and_compiling_a_chain_twice_as_long_is_about_twice_the_work() -> None:
    small, large = validate_and_compile(500), validate_and_compile(1000)
    assert 1.6 < large / small < 2.4, (small, large)


def _states(count: int) -> str:
    return "\n".join(f"  s{i}: {{}}" for i in range(count))


def _header(states: str) -> str:
    return (
        "name: big\nlabels: {vi: Lớn, en: Big}\nroles:\n  clerk: {vi: V, en: C}\n"
        f"states:\n  start: {{initial: true}}\n{states}\n  done: {{final: true}}\n"
    )


TOO_MANY_STATES = chain_definition(MAX_STATES + 1)
TOO_MANY_TRANSITIONS = _header(_states(998)) + "transitions:\n" + "".join(
    f"  - {{trigger: t{i}, source: '*', dest: done, roles: [clerk]}}\n"
    for i in range(MAX_TRANSITIONS // 1000 + 1)
)
TOO_MANY_ALTERNATIVES = _header("") + "transitions:\n" + "".join(
    "  - {trigger: go, source: start, dest: done, roles: [clerk], guards: [{required: [x]}]}\n"
    for _ in range(MAX_ALTERNATIVES + 1)
)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (TOO_MANY_STATES, f"{MAX_STATES + 1:,} states; the limit is {MAX_STATES:,}"),
        (TOO_MANY_TRANSITIONS, f"(one per source state); the limit is {MAX_TRANSITIONS:,}"),
        (TOO_MANY_ALTERNATIVES, f"transitions 'go' from 'start'; the limit is {MAX_ALTERNATIVES}"),
    ],
    ids=["states", "transitions", "alternatives"],
)
def test_a_definition_over_a_limit_is_refused_naming_the_limit(source: str, message: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        load_text(source, "big.yaml")
    assert len(refused.value.issues) == 1  # past a limit, no other check runs
    assert message in str(refused.value)


def test_the_largest_chain_the_limits_allow_is_valid() -> None:
    assert len(load_text(chain_definition(MAX_STATES), "chain.yaml").states) == MAX_STATES


def test_a_stored_version_whose_hash_holds_is_not_graph_checked_again() -> None:
    """Its graph held at deploy; only the registry's functions are looked up again."""
    unreachable = PAYMENT.replace("  paid: {final: true}", "  paid: {final: true}\n  lost: {}")
    with pytest.raises(DefinitionError, match="cannot be reached"):
        load_text(unreachable, "payment.yaml")
    digest = content_hash(unreachable)
    stored = stored_definition(unreachable, "payment.yaml", digest, Names())
    assert "lost" in stored.state_names


# --- nothing held while a definition is validated or compiled --------------------------------


@pytest.fixture
def bystander(database_url: str, clock: Any) -> Iterator[tuple[Engine, int]]:
    """Another engine on the same database, that would fail at once on a held write lock."""
    separator = "&" if "?" in database_url else "?"
    with Engine.open(f"{database_url}{separator}busy_timeout_ms=0", clock=clock) as other:
        other.deploy_text(PAYMENT, filename="payment.yaml")
        yield other, other.start("payment", CLERK).instance.id


def _fire_meanwhile(
    engine: Engine, bystander: tuple[Engine, int], seen: list[int]
) -> Callable[..., Any]:
    other, instance_id = bystander

    def meanwhile(*args: Any, **kwargs: Any) -> None:
        seen.append(engine.db.pool.checkedout())
        other.fire(instance_id, "pay", CLERK, payload={"paid": 1})

    return meanwhile


def test_a_deploy_holds_no_connection_while_it_validates(
    engine: Engine, bystander: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_check = loader.check
    meanwhile = _fire_meanwhile(engine, bystander, seen)

    def check(*args: Any) -> Any:
        meanwhile()
        return real_check(*args)

    monkeypatch.setattr(loader, "check", check)
    engine.deploy_text(chain_definition(200), filename="chain.yaml")
    assert seen == [0]
    other, instance_id = bystander
    assert other.get(instance_id).version == 2  # the bystander's fire went through meanwhile


def test_a_directive_import_compiles_before_it_opens_its_transaction(
    database_url: str, clock: Any, tmp_path: Path
) -> None:
    with Engine.open(database_url, clock=clock) as deployer:
        deploy(deployer, *FAN_OUT_WORKFLOWS)
        import_units(deployer, few_units(tmp_path))
    with Engine.open(database_url, clock=clock) as fresh:  # a new process: nothing compiled
        seen: list[int] = []
        real_compile = fresh.catalog.compile_stored

        def compile_stored(pending: Any) -> Any:
            seen.append(fresh.db.pool.checkedout())
            return real_compile(pending)

        fresh.catalog.compile_stored = compile_stored  # type: ignore[method-assign]
        assert import_directive(fresh, DIRECTIVE).created
    assert seen
    assert set(seen) == {0}


def test_a_first_fire_compiles_a_stored_version_with_no_transaction_open(
    database_url: str, clock: Any, bystander: tuple[Engine, int]
) -> None:
    with Engine.open(database_url, clock=clock) as deployer:
        deployer.deploy_text(chain_definition(200), filename="chain.yaml")
        deployer.add_actor(CLERK.id, CLERK.roles)
        instance_id = deployer.start("chain", CLERK).instance.id
    with Engine.open(database_url, clock=clock) as fresh:  # a new process: nothing compiled
        seen: list[int] = []
        real_compile = fresh.catalog.compile_stored
        meanwhile = _fire_meanwhile(fresh, bystander, seen)

        def compile_stored(pending: Any) -> Any:
            meanwhile()
            return real_compile(pending)

        fresh.catalog.compile_stored = compile_stored  # type: ignore[method-assign]
        moved = fresh.fire(instance_id, "next", CLERK)
    assert seen == [0]
    assert (moved.event.from_state, moved.event.to_state) == ("s00000", "s00001")
