"""Time at the timer boundary: IANA zones across DST changes; naive datetimes refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflow import Actor, DefinitionError, InvalidInput, parse_span
from workflow.definition import model as m
from workflow.definition.durations import calendar_days, parse_duration
from workflow.definition.zones import shift
from workflow.timers import claim_due, due_instances, list_timers, run_due_timers


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("moment", "delta", "zone", "expected"),
    [
        # Berlin springs forward on 2021-03-28: the day before a 12:00 deadline is 23 hours long.
        ("2021-03-28T12:00+02:00", "-P1D", "Europe/Berlin", "2021-03-27T12:00+01:00"),
        ("2021-03-28T12:00+02:00", "-P1D", None, "2021-03-27T11:00+01:00"),
        ("2021-03-28T12:00+02:00", "-PT24H", "Europe/Berlin", "2021-03-27T11:00+01:00"),
        # New York falls back on 2021-11-07: one calendar day after noon is 25 hours later.
        ("2021-11-06T12:00-04:00", "P1D", "America/New_York", "2021-11-07T12:00-05:00"),
        ("2021-11-06T12:00-04:00", "PT24H", "America/New_York", "2021-11-07T11:00-05:00"),
        ("2021-10-30T12:00+02:00", "P1DT2H", "Europe/Berlin", "2021-10-31T14:00+01:00"),
        ("2021-03-21T09:00+01:00", "P1W", "Europe/Berlin", "2021-03-28T09:00+02:00"),
        # A wall time skipped in spring lands after the gap; one repeated in autumn, on the first.
        ("2021-03-27T02:30+01:00", "P1D", "Europe/Berlin", "2021-03-28T03:30+02:00"),
        ("2021-10-30T02:30+02:00", "P1D", "Europe/Berlin", "2021-10-31T02:30+02:00"),
        # Hanoi has no daylight saving: calendar days and 24-hour days agree.
        ("2020-09-15T17:00+07:00", "-P3D", "Asia/Ho_Chi_Minh", "2020-09-12T17:00+07:00"),
    ],
)
def test_zoned_days_move_the_wall_clock_date(moment, delta, zone, expected):
    days = calendar_days(delta)
    assert shift(utc(moment), parse_duration(delta), zone, days) == utc(expected)


BERLIN = """\
name: berlin
labels: {vi: Hạn chót, en: Deadline}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
fields:
  deadline: {type: datetime}
deadline_field: deadline
states:
  open:
    initial: true
    timers:
      - {trigger: remind, at: deadline, offset: -P1D, zone: Europe/Berlin}
  done: {final: true}
transitions:
  - {trigger: remind, source: open, dest: open, roles: [system]}
  - {trigger: finish, source: open, dest: done, roles: [clerk]}
"""


def test_a_reminder_across_spring_forward_fires_at_the_local_hour(engine, clock):
    engine.deploy_text(BERLIN, filename="berlin.yaml")
    clock.set(utc("2021-03-20T00:00+00:00"))
    engine.start("berlin", Actor("c", ["clerk"]), data={"deadline": "2021-03-28T12:00:00+02:00"})
    (timer,) = list_timers(engine)
    assert timer.due_at == utc("2021-03-27T12:00+01:00")
    assert run_due_timers(engine, now=timer.due_at - timedelta(seconds=1)).fired == 0
    assert run_due_timers(engine, now=timer.due_at).fired == 1


def test_an_unknown_zone_is_refused_when_the_definition_is_loaded(engine):
    with pytest.raises(DefinitionError, match="IANA"):
        engine.deploy_text(BERLIN.replace("Europe/Berlin", "Europe/Atlantis"), filename="b.yaml")


def test_the_zone_reaches_the_timer_spec(engine):
    engine.deploy_text(BERLIN, filename="berlin.yaml")
    state = engine.definition("berlin").state("open")
    assert state.timers == (
        m.TimerSpec("remind", "deadline", timedelta(days=-1), None, "Europe/Berlin", -1),
    )


NAIVE = datetime(2020, 9, 15, 8, 0)


@pytest.mark.parametrize("backend", ["sqlite"])  # refused before any query runs
@pytest.mark.parametrize(
    "call",
    [
        lambda engine: run_due_timers(engine, now=NAIVE),
        lambda engine: claim_due(engine, now=NAIVE, worker_id="w"),
        lambda engine: due_instances(engine, overdue=True, now=NAIVE),
    ],
    ids=["run_due_timers", "claim_due", "due_instances"],
)
def test_a_naive_datetime_is_refused_with_a_clear_message(engine, call):
    with pytest.raises(InvalidInput, match="has no time zone"):
        call(engine)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", timedelta(days=3)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("2w", timedelta(weeks=2)),
        ("P1DT6H", timedelta(days=1, hours=6)),
    ],
)
def test_spans_for_options(text, expected):
    assert parse_span(text) == expected


@pytest.mark.parametrize("text", ["0d", "-P1D", "3 days", "1y", ""])
def test_bad_spans_are_refused(text):
    with pytest.raises(ValueError, match=r"span|longer than zero"):
        parse_span(text)
