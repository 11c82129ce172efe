"""The channel of an audit event (api, web, cli): recorded by the verbs that are told it, part of
the event's hash when present, checked by the replay, carried by exports; events without one
(written before it existed, or by an embedding application) keep their hashes."""

from __future__ import annotations

import io

import pytest
from audit_attacks import CLERK, build_world, drop_append_only_triggers, edit_event
from cli_runner import run_cli
from sqlalchemy import update

from workflow import Engine, InvalidInput
from workflow.auditing import (
    audit_rows,
    export_header,
    read_export,
    verify_log,
    write_audit_jsonl,
)
from workflow.store.tables import audit_events


@pytest.fixture
def world(payment: Engine):
    return build_world(payment)


def test_the_channel_is_recorded_and_the_log_verifies(payment, world):
    started = payment.start("payment", CLERK, channel="web")
    fired = payment.fire(started.instance.id, "pay", CLERK, payload={"paid": 1}, channel="api")
    assert (started.event.channel, fired.event.channel) == ("web", "api")
    assert [e.channel for e in payment.history(world.a)] == [None] * 5  # not said
    assert payment.verify().ok


def test_an_unknown_channel_is_refused_and_nothing_written(payment, world):
    with pytest.raises(InvalidInput, match="channel"):
        payment.fire(world.c, "pay", CLERK, payload={"paid": 1}, channel="telepathy")
    assert payment.get(world.c).version == 1


def test_the_cli_records_its_channel(payment, world, database_url, capsys):
    code, output = run_cli(capsys, database_url, f"fire {world.c} pay --actor clerk-1 "
                           "--payload '{\"paid\": 5}'")  # fmt: skip
    assert code == 0, output
    assert payment.history(world.c)[-1].channel == "cli"


def test_a_channel_set_afterwards_breaks_the_events_hash(payment, world):
    with payment.transaction() as conn:
        drop_append_only_triggers(conn)
        conn.execute(
            update(audit_events)
            .where(audit_events.c.instance_id == world.a, audit_events.c.seq == 2)
            .values(channel="api")
        )
    problems = [str(p) for p in payment.verify().problems]
    assert problems == [f"instance {world.a}, event 2: content does not match its hash "
                        "(the event was edited)"]  # fmt: skip


@pytest.mark.parametrize(
    ("seq", "channel", "actor"),
    [(2, "telepathy", CLERK.id), (2, "api", "system:timer")],
    ids=["unknown-channel", "timer-through-a-channel"],
)
def test_a_rehashed_event_with_a_channel_the_engine_never_writes_is_illegal(
    payment, world, seq, channel, actor
):
    with payment.transaction() as conn:
        drop_append_only_triggers(conn)
        edit_event(conn, world.a, seq, channel=channel, actor=actor)
    (problem,) = payment.verify().problems
    assert (problem.instance_id, problem.seq) == (world.a, seq)
    assert f"names the channel {channel!r}" in problem.problem


def test_exports_carry_the_channel_and_verify_offline_with_or_without_it(payment, world):
    payment.fire(world.c, "pay", CLERK, payload={"paid": 1}, channel="web")
    out = io.StringIO()
    write_audit_jsonl(audit_rows(payment), out, export_header({}, True, payment.now()))
    text = out.getvalue()
    assert '"channel": "web"' in text
    assert verify_log(read_export(io.StringIO(text)).events).ok
    # an export written before the channel existed has no such field: still verifiable
    old = "\n".join(line.replace(', "channel": null', "") for line in text.splitlines())
    assert '"channel": null' not in old
    assert verify_log(read_export(io.StringIO(old)).events).ok
