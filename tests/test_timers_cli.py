"""The command line: `timers run --once`, `timers list`, `list --overdue` and `--due-within`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from cli.main import main
from workflow import Actor
from workflow.admin import mark_simulation

TASK = """\
name: task
labels: {vi: Nhiệm vụ, en: Task}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
fields:
  deadline: {type: datetime}
deadline_field: deadline
states:
  open:
    initial: true
    timers: [{trigger: mark_overdue, at: deadline}]
  overdue: {}
  done: {final: true}
transitions:
  - {trigger: mark_overdue, source: open, dest: overdue, roles: [system]}
  - {trigger: finish, source: [open, overdue], dest: done, roles: [clerk]}
"""

CLERK = Actor("c", ["clerk"])
# Refused by the command line before any query runs: one backend is enough.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture(autouse=True)
def _quiet_logs(monkeypatch):
    """Logs are captured, not printed: stdout holds only the command's output, and in-process
    runs never point structlog at pytest's captured (soon closed) stderr."""
    monkeypatch.setattr("cli.logs.configure", lambda verbose=False: None)
    with structlog.testing.capture_logs():
        yield


def run(capsys, url, *args):
    capsys.readouterr()  # drop what the fixtures logged
    with pytest.raises(SystemExit) as exit_:
        main(["--db", url, *args])
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.fixture
def tasks(engine, clock):
    """Two live tasks: one due in 2020 (long overdue), one due tomorrow (real time)."""
    engine.deploy_text(TASK, filename="task.yaml")
    past = clock.now() + timedelta(days=1)
    soon = datetime.now(UTC) + timedelta(days=1)
    return [
        engine.start("task", CLERK, data={"deadline": d.isoformat()}).instance.id
        for d in (past, soon)
    ]


def test_run_once_at_a_given_moment_fires_what_is_due_then(
    capsys, database_url, engine, tasks, clock
):
    mark_simulation(engine)
    at = (clock.now() + timedelta(days=2)).isoformat()
    code, out, _ = run(capsys, database_url, "timers", "run", "--once", "--now", at, "--json")
    assert (code, json.loads(out)["fired"]) == (0, 1)


@SQLITE_ONLY
def test_run_once_with_a_naive_now_is_bad_input(capsys, database_url, tasks):
    code, _, err = run(capsys, database_url, "timers", "run", "--once", "--now", "2020-09-15T08:00")
    assert code == 2
    assert "--now 2020-09-15T08:00:00 has no time zone" in err


@SQLITE_ONLY
def test_now_without_once_is_a_usage_error(capsys, database_url, tasks):
    code, _, err = run(capsys, database_url, "timers", "run", "--now", "2020-09-15T08:00Z")
    assert code == 2
    assert "--now goes with --once" in err


def test_timers_list_shows_each_row_with_its_status(capsys, database_url, tasks):
    code, out, _ = run(capsys, database_url, "timers", "list", "--json")
    rows = json.loads(out)
    assert code == 0
    assert [(r["instance_id"], r["trigger"], r["status"]) for r in rows] == [
        (tasks[0], "mark_overdue", "pending"),
        (tasks[1], "mark_overdue", "pending"),
    ]


@pytest.mark.parametrize(
    ("option", "which"),
    [(["--overdue"], 0), (["--due-within", "3d"], 1)],
    ids=["overdue", "due-within"],
)
def test_list_by_deadline(capsys, database_url, tasks, option, which):
    code, out, _ = run(capsys, database_url, "list", *option, "--json")
    assert code == 0
    assert [i["id"] for i in json.loads(out)] == [tasks[which]]


def test_finished_instances_are_never_overdue(capsys, database_url, engine, tasks):
    engine.fire(tasks[0], "finish", CLERK)
    code, out, _ = run(capsys, database_url, "list", "--overdue", "--json")
    assert (code, json.loads(out)) == (0, [])


@SQLITE_ONLY
@pytest.mark.parametrize(
    "args",
    [["--due-within", "soon"], ["--overdue", "--due-within", "3d"]],
    ids=["bad-span", "both"],
)
def test_bad_deadline_options_are_bad_input(capsys, database_url, tasks, args):
    code, _, err = run(capsys, database_url, "list", *args)
    assert code == 2
    assert err


@pytest.mark.parametrize("group", ["timers", "events"])
def test_both_workers_take_one_lease_option_with_the_librarys_default(group):
    """`timers run` and `events run` share `--lease` (a span; a bare number is seconds, at most
    a week) and `--worker-id`; the lease's default is the library's."""
    from cli.main import cli
    from workflow import parse_span
    from workflow.workers import DEFAULT_LEASE

    run = cli.commands[group].commands["run"]
    options = {p.name: p for p in run.params}
    assert parse_span(options["lease"].default) == DEFAULT_LEASE
    assert "worker_id" in options
    callback = options["lease"].callback
    assert callback(None, options["lease"], "300") == timedelta(minutes=5)
    assert callback(None, options["lease"], "PT1H") == timedelta(hours=1)
