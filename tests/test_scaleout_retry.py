"""retry_on_conflict (issue 5): capped exponential backoff with jitter, conflicts only."""

from __future__ import annotations

import pytest
from scaleout_procs import RING, WORKER

from workflow import ConcurrentModification, Engine, GuardFailed, InvalidInput, retry_on_conflict


class Flaky:
    """Raises ``conflicts`` ConcurrentModifications, then returns 'done'."""

    def __init__(self, conflicts: int, error: Exception | None = None) -> None:
        self.conflicts = conflicts
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.error is not None:
            raise self.error
        if self.calls <= self.conflicts:
            raise ConcurrentModification(7, self.calls, self.calls + 1)
        return "done"


def test_retries_conflicts_with_doubling_jittered_waits() -> None:
    waits: list[float] = []
    fn = Flaky(conflicts=3)
    result = retry_on_conflict(fn, attempts=5, backoff=0.1, sleep=waits.append, jitter=lambda: 0.5)
    assert (result, fn.calls) == ("done", 4)
    # d = 0.1, 0.2, 0.4; each wait is d/2 + 0.5 * d/2
    assert waits == pytest.approx([0.075, 0.15, 0.3])


@pytest.mark.parametrize(("jitter", "expected"), [(0.0, 0.5), (0.999, 0.9995)])
def test_waits_are_capped_and_spread_between_half_and_all_of_the_cap(
    jitter: float, expected: float
) -> None:
    waits: list[float] = []
    retry_on_conflict(
        Flaky(conflicts=1), backoff=10, max_backoff=1.0, sleep=waits.append, jitter=lambda: jitter
    )
    assert waits == pytest.approx([expected])


def test_gives_up_after_the_last_attempt_with_the_last_conflict() -> None:
    waits: list[float] = []
    fn = Flaky(conflicts=10)
    with pytest.raises(ConcurrentModification) as caught:
        retry_on_conflict(fn, attempts=3, sleep=waits.append)
    assert (fn.calls, len(waits), caught.value.expected) == (3, 2, 3)


def test_other_errors_are_not_retried() -> None:
    waits: list[float] = []
    fn = Flaky(conflicts=0, error=GuardFailed(1, "a", "go", ["no"]))
    with pytest.raises(GuardFailed):
        retry_on_conflict(fn, sleep=waits.append)
    assert (fn.calls, waits) == (1, [])


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"backoff": -1.0}, {"max_backoff": -0.5}])
def test_nonsense_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        retry_on_conflict(Flaky(0), **bad)  # type: ignore[arg-type]


def test_a_fire_that_reloads_its_version_succeeds_on_retry(engine: Engine) -> None:
    engine.deploy_text(RING, filename="ring.yaml")
    instance_id = engine.start("ring", WORKER).instance.id
    engine.fire(instance_id, "forward", WORKER)  # someone else moved it: version 2
    seen = [1]  # what this caller read before that happened

    def approve() -> object:
        expected = seen.pop() if seen else engine.get(instance_id).version
        return engine.fire(instance_id, "forward", WORKER, expected_version=expected)

    retry_on_conflict(approve, sleep=lambda _: None)
    assert engine.get(instance_id).version == 3
