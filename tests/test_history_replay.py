"""``history --at``: replaying the audit log gives the live state and data of every moment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workflow import InvalidInput
from workflow.auditing import state_at


def test_replay_agrees_with_the_live_state_at_every_step(payment, clerk, clock):
    instance = payment.start("payment", clerk, data={"amount": 300}).instance
    seen = [(clock.now(), instance)]
    script = [
        ("pay", {"paid": 10, "note": "lần một"}),
        ("pay", {"paid": 40, "note": "lần hai"}),
        ("pay", {"paid": 300}),
    ]
    for trigger, payload in script:
        clock.advance(timedelta(hours=5))
        seen.append(
            (clock.now(), payment.fire(instance.id, trigger, clerk, payload=payload).instance)
        )
    for moment, live in seen:
        for at in (moment, moment + timedelta(hours=4, minutes=59)):
            snap = state_at(payment, instance.id, at)
            assert (snap.state, dict(snap.data), snap.version) == (
                live.state,
                dict(live.data),
                live.version,
            )


@pytest.mark.parametrize("backend", ["sqlite"])  # input checks, before any query
def test_replay_before_the_start_is_refused(payment, clerk, clock):
    instance = payment.start("payment", clerk).instance
    with pytest.raises(InvalidInput, match="did not exist yet"):
        state_at(payment, instance.id, clock.now() - timedelta(seconds=1))


@pytest.mark.parametrize("backend", ["sqlite"])  # input checks, before any query
def test_replay_refuses_a_naive_time(payment, clerk, clock):
    instance = payment.start("payment", clerk).instance
    with pytest.raises(InvalidInput, match="time zone"):
        state_at(payment, instance.id, clock.now().replace(tzinfo=None))
