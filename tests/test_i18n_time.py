"""Times as people read them: shown on the wall clock of the directive's zone (or --tz, or this
machine's), dd/mm/yyyy in Vietnamese; a bare date given to a filter is local midnight in that
zone, not midnight UTC; JSON stays ISO 8601 UTC. Real processes, the machine's zone set by TZ."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from directive_support import DIRECTIVE, sqlite_copy
from support import PAYMENT
from test_i18n_cli import _workflow

from workflow import Actor, FrozenClock
from workflow.directives import import_directive
from workflow.i18n import start_of_day

# 01:00 on 1 May in Hà Nội, still 30 April in UTC
EARLY_MAY_DAY = datetime(2024, 4, 30, 18, 0, tzinfo=UTC)
HANOI = "Asia/Ho_Chi_Minh"


def test_a_bare_date_is_midnight_where_the_reader_is():
    assert start_of_day(date(2024, 5, 1), ZoneInfo(HANOI)) == datetime(
        2024, 4, 30, 17, 0, tzinfo=UTC
    )
    assert start_of_day(date(2024, 5, 1), UTC) == datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    """One payment started at 01:00 on 1 May, Hà Nội time; the directive imported on 7/9/2020."""
    folder = tmp_path_factory.mktemp("times")
    clock = FrozenClock(EARLY_MAY_DAY)
    with sqlite_copy(folder, clock, units=True) as engine:
        engine.deploy_text(PAYMENT, filename="payment.yaml")
        engine.start("payment", Actor("lan", ["clerk"]))
        clock.set(datetime(2020, 9, 7, 1, 0, tzinfo=UTC))
        import_directive(engine, DIRECTIVE)
        return str(engine.url)


def _since(db: str, tmp_path, *tz: str, machine: str = "UTC") -> list[str]:
    done = _workflow("--db", db, "audit", "search", "--workflow", "payment", "--since",
                     "2024-05-01", *tz, "--json", cwd=tmp_path, TZ=machine)
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["occurred_at"] for line in done.stdout.splitlines()]


def test_since_a_bare_date_means_local_midnight_in_the_zone_asked(db, tmp_path):
    assert _since(db, tmp_path, "--tz", HANOI) == ["2024-04-30T18:00:00Z"]  # JSON: UTC
    assert _since(db, tmp_path, "--tz", "UTC") == []


def test_without_tz_a_bare_date_is_midnight_on_this_machines_clock(db, tmp_path):
    assert _since(db, tmp_path, machine=HANOI) == ["2024-04-30T18:00:00Z"]
    assert _since(db, tmp_path, machine="UTC") == []


def test_history_of_a_directives_item_is_on_the_directives_clock(db, tmp_path):
    # instance 2 is the first the directive started, at 08:00 in Hà Nội (01:00 UTC)
    vi = _workflow("--db", db, "--lang", "vi", "history", "2", cwd=tmp_path, TZ="UTC")
    assert "thời điểm (Asia/Ho_Chi_Minh)" in vi.stdout
    assert "07/09/2020 08:00" in vi.stdout
    utc = _workflow("--db", db, "--lang", "vi", "history", "2", "--tz", "UTC", cwd=tmp_path)
    assert "07/09/2020 01:00" in utc.stdout
    en = _workflow("--db", db, "history", "2", cwd=tmp_path, TZ="UTC")
    assert "2020-09-07 08:00" in en.stdout


def test_other_instances_are_on_this_machines_clock(db, tmp_path):
    done = _workflow("--db", db, "--lang", "vi", "list", "--workflow", "payment", cwd=tmp_path,
                     TZ="Europe/Berlin")
    assert "cập nhật (Europe/Berlin)" in done.stdout
    assert "30/04/2024 20:00" in done.stdout


def test_an_unknown_zone_is_a_usage_error(db, tmp_path):
    done = _workflow("--db", db, "history", "2", "--tz", "Mars/Olympus", cwd=tmp_path)
    assert done.returncode == 2
    assert "'Mars/Olympus' is not a time zone" in done.stderr
