# The case table reads best one case per line, so long lines are allowed here.
# ruff: noqa: E501
"""Hostile content through the real ``workflow`` command, in a process of its own per backend.

Endless files (``/dev/zero``) wherever a file is read, JSON nested thousands deep, integers of
5,000 digits, bytes that are not UTF-8, instants at the edges of the calendar, spans and counts no
clock or database can hold, ids past 2**63: each is refused with the documented exit code and one
line on stderr, no traceback, nothing on stdout (``audit export`` writes no header first) and no
row written, on SQLite and on PostgreSQL. The child (``costed_cli_runs.py``: every case in one
interpreter, as the hostile definition corpus is run) works under resource limits, address space
and CPU seconds (``setrlimit``): a case that reads without a bound or loops gets it killed.
"""

from __future__ import annotations

import re
import resource
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_support import count, new_postgres_schema, run_cli

from workflow import Actor, Engine, InvalidInput
from workflow.auditing import AuditFilter, search_audit
from workflow.events import list_events, retry_event
from workflow.timers import list_timers, retry_timer

CHILD_CPU_S = 60
"""CPU seconds the child may use for every case together before the kernel stops it (each
refusal takes a fraction of one)."""
CHILD_MEMORY = 1024 * 1024 * 1024
"""Address space the child may map: an unbounded read of /dev/zero passes it within a second."""
BIG = str(2**63)
ROOT = Path(__file__).resolve().parents[2]

EVENTFUL = """\
name: eventful
labels: {vi: Sự kiện, en: Eventful}
roles:
  clerk: {vi: Văn thư, en: Clerk}
fields:
  note: {type: string}
  when: {type: datetime}
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - {trigger: note, source: open, dest: open, roles: [clerk], effects: [{merge: [note, when]}]}
  - {trigger: close, source: open, dest: done, roles: [clerk]}
"""


def _files(folder: Path) -> dict[str, Path]:
    """Hostile files, made once per test folder."""
    deep = folder / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    digits = folder / "digits.json"
    digits.write_text('{"note": ' + "7" * 5_000 + "}", encoding="utf-8")
    latin1 = folder / "latin1.json"
    latin1.write_bytes(b'{"note": "Quy\xea\xe1t \xf0\xe9nh"}')
    yaml_digits = folder / "digits.yaml"
    yaml_digits.write_text(EVENTFUL.replace("name: eventful", "name: eventful\nx: " + "9" * 5_000), encoding="utf-8")
    old = folder / "year-one.yaml"
    example = (ROOT / "examples" / "19-CV-DUK.yaml").read_text(encoding="utf-8")
    old.write_text(re.sub(r"deadline: .*", "deadline: trước ngày 1/1/0001", example, count=1), encoding="utf-8")
    return {"deep": deep, "digits": digits, "latin1": latin1, "yaml_digits": yaml_digits, "year_one": old}


Case = tuple[str, Callable[[dict[str, Path], int], list[str]], int, str]

# id, argv (given the hostile files and an instance id), exit code, a fragment of the one line
CASES: list[Case] = [
    # reads without a bound
    ("payload @/dev/zero", lambda f, i: ["fire", str(i), "note", "--actor", "clerk-1", "--payload", "@/dev/zero"], 2, "larger than the limit"),
    ("data @/dev/zero", lambda f, i: ["start", "eventful", "--actor", "clerk-1", "--data", "@/dev/zero"], 2, "larger than the limit"),
    ("validate /dev/zero", lambda f, i: ["definitions", "validate", "/dev/zero"], 2, "larger than the limit"),
    ("deploy /dev/zero", lambda f, i: ["definitions", "deploy", "/dev/zero"], 2, "larger than the limit"),
    ("checkpoint /dev/zero", lambda f, i: ["audit", "verify", "--checkpoint", "/dev/zero"], 2, "larger than the limit"),
    ("export file /dev/zero", lambda f, i: ["audit", "verify", "--file", "/dev/zero"], 2, "longer than the limit"),
    ("directive /dev/zero", lambda f, i: ["directive", "import", "/dev/zero"], 2, "larger than the limit"),
    ("units /dev/zero", lambda f, i: ["units", "import", "/dev/zero"], 2, "larger than the limit"),
    ("sinks /dev/zero", lambda f, i: ["events", "run", "--once", "--sinks", "/dev/zero"], 2, "larger than the limit"),
    # bad content
    ("JSON nested 100,000 deep", lambda f, i: ["fire", str(i), "note", "--actor", "clerk-1", "--payload", f"@{f['deep']}"], 2, "nests deeper than 32"),
    ("JSON nested inline", lambda f, i: ["start", "eventful", "--actor", "clerk-1", "--data", '{"note": ' + "[" * 5_000 + "]" * 5_000 + "}"], 2, "nests deeper than 32"),
    ("JSON integer of 5,000 digits", lambda f, i: ["fire", str(i), "note", "--actor", "clerk-1", "--payload", f"@{f['digits']}"], 2, "5,000 digits"),
    ("payload not UTF-8", lambda f, i: ["fire", str(i), "note", "--actor", "clerk-1", "--payload", f"@{f['latin1']}"], 2, "not valid UTF-8"),
    ("YAML integer of 5,000 digits", lambda f, i: ["definitions", "deploy", str(f["yaml_digits"])], 2, "digits"),
    ("payload datetime in year 1", lambda f, i: ["fire", str(i), "note", "--actor", "clerk-1", "--payload", '{"when": "0001-01-01T00:00:00+01:00"}'], 2, "out of range"),
    ("directive deadline in year 1", lambda f, i: ["directive", "import", str(f["year_one"])], 2, "out of range"),
    ("--at in year 1", lambda f, i: ["history", str(i), "--at", "0001-01-01T00:00:00+01:00"], 2, "out of range"),
    ("--until in year 9999", lambda f, i: ["audit", "export", "--until", "9999-12-31T23:00:00-05:00"], 2, "out of range"),
    ("--since in year 1", lambda f, i: ["audit", "search", "--since", "0001-01-01T00:00:00+05:00"], 2, "out of range"),
    # numbers no clock or database holds
    ("--due-within a trillion days", lambda f, i: ["list", "--due-within", "999999999999d"], 2, "limit"),
    ("--due-within P99999999999D", lambda f, i: ["list", "--due-within", "P99999999999D"], 2, "limit"),
    ("--older-than a trillion days", lambda f, i: ["events", "prune", "--older-than", "99999999999d"], 2, "limit"),
    ("timers --lease a trillion days", lambda f, i: ["timers", "run", "--once", "--lease", "99999999999d"], 2, "limit"),
    ("events --lease 10**14 s", lambda f, i: ["events", "run", "--once", "--sinks", "/dev/null", "--lease", "99999999999999"], 2, "--lease"),
    ("events list --limit 2**63", lambda f, i: ["events", "list", "--limit", BIG], 2, "--limit"),
    ("audit search --limit 2**63", lambda f, i: ["audit", "search", "--limit", BIG + "0"], 2, "--limit"),
    ("audit export --instance 2**63", lambda f, i: ["audit", "export", "--instance", BIG], 2, "--instance"),
    ("audit export --directive 2**63", lambda f, i: ["audit", "export", "--directive", BIG], 2, "--directive"),
    ("audit search --instance 2**63", lambda f, i: ["audit", "search", "--instance", BIG], 2, "--instance"),
    ("audit verify --instance 2**63", lambda f, i: ["audit", "verify", "--instance", BIG], 2, "--instance"),
    ("events list --instance 2**63", lambda f, i: ["events", "list", "--instance", BIG], 2, "--instance"),
    ("timers list --instance 2**63", lambda f, i: ["timers", "list", "--instance", BIG], 2, "--instance"),
    ("timers retry 2**63", lambda f, i: ["timers", "retry", BIG], 2, "TIMER_ID"),
    ("events retry 2**63", lambda f, i: ["events", "retry", BIG], 2, "EVENT_ID"),
    ("fire --expected-version 2**63", lambda f, i: ["fire", str(i), "close", "--actor", "clerk-1", "--expected-version", BIG], 2, "--expected-version"),
    ("migrate --from 2**63", lambda f, i: ["migrate", "eventful", "--from", BIG, "--to", "1", "--dry-run"], 2, "--from"),
]


@pytest.mark.parametrize(
    "call",
    [
        lambda e: search_audit(e, AuditFilter(instance_id=2**63)),
        lambda e: list_events(e, instance_id=2**63),
        lambda e: retry_event(e, 2**63),
        lambda e: list_timers(e, instance_id=2**63),
        lambda e: retry_timer(e, 2**63),
    ],
    ids=["search_audit", "list_events", "retry_event", "list_timers", "retry_timer"],
)
def test_the_library_refuses_ids_no_database_holds(engine: Engine, call: Callable[[Engine], object]) -> None:
    with pytest.raises(InvalidInput, match="not an id"):
        call(engine)


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CHILD_CPU_S, CHILD_CPU_S))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every case run once on the backend, by the real CLI in one fresh process under the caps."""
    work = tmp_path_factory.mktemp("hostile-content")
    if request.param == "sqlite":
        url = f"sqlite:///{work / 'hostile.db'}"
    else:
        url = new_postgres_schema(request.getfixturevalue("postgres_server_url"))
    with Engine.open(url) as engine:
        engine.deploy_text(EVENTFUL, filename="eventful.yaml")
        engine.add_actor("clerk-1", ["clerk"])
        instance_id = engine.start("eventful", Actor("clerk-1", ["clerk"])).instance.id
    files = _files(work)
    runs = [["--db", url, *argv(files, instance_id)] for _, argv, _, _ in CASES]
    env = {"WORKFLOW_LOG_LEVEL": "WARNING", "WORKFLOW_DEBUG": ""}
    outcome = run_cli(work, url, runs, env=env, limits=_limits)
    by_case = {name: run for (name, *_), run in zip(CASES, outcome["runs"], strict=True)}
    return {"rows_before": outcome["rows_before"], **by_case}


@pytest.mark.parametrize(("name", "code", "fragment"), [(c[0], c[2], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_content_is_refused_in_one_line(results: dict[str, dict], name: str, code: int, fragment: str) -> None:
    count("hostile content (CLI):total")
    run = results[name]
    err = run["stderr"]
    assert run["exit"] == code, (run["exit"], err[-2000:])
    assert run["stdout"] == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    # one line; a file's errors are one line per problem, here the one, and a summary line
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].endswith("(1 problem)")), err
    assert lines[-1].startswith("error: ")
    assert fragment in err, err
    assert run["rows_after"] == results["rows_before"]
    count("hostile content (CLI):passed")
