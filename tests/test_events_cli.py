"""``workflow events``: run --once with a sinks file, list the dead letters, retry one."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from workflow.events import EventBus, RetryPolicy, dispatch_pending


@pytest.fixture
def backend() -> str:
    """The commands are thin over the library, whose tests run on both backends."""
    return "sqlite"


@pytest.fixture(autouse=True)
def keep_test_logging(monkeypatch):
    """The CLI binds structlog to the captured stderr of one test; later tests would log to it."""
    monkeypatch.setattr("cli.logs.configure", lambda verbose=False: None)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # drop what the library logged while the test set up its rows
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def kill_first_event(engine, clerk) -> None:
    engine.start("payment", clerk)
    bus = EventBus()

    def broken(event):
        raise RuntimeError("receiver is down")

    bus.on("*", broken, name="broken")
    dispatch_pending(engine, bus, policy=RetryPolicy(max_attempts=1))


def test_list_failed_shows_the_dead_letter_with_its_error(payment, clerk, database_url, capsys):
    kill_first_event(payment, clerk)
    code, out, _ = run_cli(capsys, "--db", database_url, "events", "list", "--failed", "--json")
    [entry] = json.loads(out)
    assert (code, entry["status"], entry["topic"]) == (0, "dead", "payment.start.open")
    assert "broken: RuntimeError" in entry["last_error"]


def test_retry_requeues_and_run_once_delivers_to_the_sink(
    payment, clerk, database_url, capsys, tmp_path
):
    kill_first_event(payment, clerk)
    [dead_id] = [
        e["id"]
        for e in json.loads(run_cli(capsys, "--db", database_url, "events", "list", "--json")[1])
    ]
    code, out, _ = run_cli(capsys, "--db", database_url, "events", "retry", str(dead_id))
    assert (code, out.splitlines()[-1]) == (
        0,
        f"event {dead_id} (payment.start.open) is pending again",
    )
    sinks = tmp_path / "sinks.yaml"
    sinks.write_text("sinks:\n  - {name: journal, type: jsonl, path: events.jsonl}\n")
    code, out, _ = run_cli(
        capsys, "--db", database_url, "events", "run", "--once", "--sinks", str(sinks)
    )
    assert (code, out.splitlines()[-1]) == (0, "delivered 1, retrying 0, dead 0")
    [line] = (tmp_path / "events.jsonl").read_text().splitlines()
    assert json.loads(line)["id"] == dead_id


def test_retrying_an_event_that_is_not_dead_is_refused(payment, clerk, database_url, capsys):
    payment.start("payment", clerk)
    code, _, err = run_cli(capsys, "--db", database_url, "events", "retry", "1")
    assert (code, err.strip()) == (
        2,
        "error: event 1 is pending, not dead: only a dead event can be retried",
    )


def test_retrying_a_missing_event_is_not_found(payment, database_url, capsys):
    code, _, err = run_cli(capsys, "--db", database_url, "events", "retry", "99")
    assert (code, err.strip()) == (1, "error: event 99 not found")
