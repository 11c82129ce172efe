"""Issue 14, the CLI at its seams, each through a real ``workflow`` process on both backends.

Reserved identities (no one registers as the timer), a stored row that is not JSON (exit 3,
naming the row), display names shown, a closed pipe, truncated output said so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from workflow import Actor, Engine, ReservedIdentity, UnreadableRecord
from workflow.store.tables import actors

CONSOLE = [sys.executable, "-c", "from cli.main import main; main()"]


def workflow(db_url: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``workflow --db DB_URL ARGS...`` in a fresh process."""
    return subprocess.run(
        [*CONSOLE, "--db", db_url, *args], capture_output=True, text=True, timeout=120,
        check=False, cwd=cwd, env={**os.environ, "WORKFLOW_LOG_LEVEL": "warning"},
    )


# (case, the arguments after `actors add`)
RESERVED = [
    ("the timer's role", ("fake", "--role", "system")),
    ("the timer's id", ("system:timer", "--role", "clerk")),
    ("any system: id", ("system:cron", "--role", "clerk")),
    ("the timer's id and role", ("system:timer", "--role", "system")),
    ("the role among others", ("lan", "--role", "clerk", "--role", "system")),
]


@pytest.mark.parametrize("args", [c[1] for c in RESERVED], ids=[c[0] for c in RESERVED])
def test_a_reserved_identity_cannot_be_registered(database_url, args):
    done = workflow(database_url, "actors", "add", *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "is reserved for the engine's own actors" in done.stderr
    assert workflow(database_url, "actors", "list", "--json").stdout.strip() == "[]"


@pytest.mark.parametrize(("actor_id", "roles"), [("system:timer", ["clerk"]), ("x", ["system"])])
def test_the_library_refuses_a_reserved_identity(engine: Engine, actor_id, roles):
    with pytest.raises(ReservedIdentity) as refused:
        engine.add_actor(actor_id, roles)
    assert refused.value.actor_id == actor_id


def test_a_reserved_identity_registered_earlier_cannot_act(payment: Engine, database_url):
    with payment.transaction() as conn:  # a row written before identities were reserved
        conn.execute(insert(actors).values(id="system:timer", roles=["system", "clerk"],
                                           unit=None, name=None, created_at=payment.now()))
    done = workflow(database_url, "start", "payment", "--actor", "system:timer")
    assert (done.returncode, "is reserved" in done.stderr) == (2, True), done.stderr


def test_a_display_name_is_shown_by_actors_list(database_url):
    assert workflow(database_url, "actors", "add", "lan", "--role", "clerk",
                    "--name", "Nguyễn Thị Lan").returncode == 0
    listed = workflow(database_url, "actors", "list")
    assert "Nguyễn Thị Lan" in listed.stdout


def _drop_append_only_triggers(engine: Engine) -> None:
    with engine.transaction() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_events_no_update_delete ON audit_events"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))


@pytest.mark.parametrize("column", ["payload", "data", "actor_roles"])
def test_a_stored_row_that_is_not_json_is_named_with_exit_3(payment, database_url, column):
    clerk = Actor("c1", ["clerk"])
    instance = payment.start("payment", clerk).instance.id
    payment.fire(instance, "pay", clerk, payload={"paid": 50})
    _drop_append_only_triggers(payment)
    with payment.transaction() as conn:
        conn.execute(text(f"UPDATE audit_events SET {column} = '{{not json' WHERE seq = 2"))
    with pytest.raises(UnreadableRecord):
        payment.history(instance)
    done = workflow(database_url, "history", str(instance))
    assert done.returncode == 3, done.stderr
    assert done.stderr == (
        f"error: audit event 2 of instance {instance} (id 2) is unreadable: its stored {column} "
        "is not valid JSON (the row was altered outside the engine); run `workflow audit "
        "verify` to check the log\n"
    )



# --- the demo honours the global --db ------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `workflow --db sqlite:///mine.db demo` ran once."""
    folder = tmp_path_factory.mktemp("demo")
    done = workflow(f"sqlite:///{folder / 'mine.db'}", "demo", "--quiet", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_the_demo_plays_on_the_global_db(demo_folder):
    # and writes the report as xlsx and HTML beside it
    assert sorted(p.name for p in demo_folder.iterdir()) == [
        "mine-report.html", "mine-report.xlsx", "mine.db",
    ]  # fmt: skip


@pytest.mark.parametrize(("url", "message"), [
    ("postgresql+psycopg://u@127.0.0.1:1/x", "the demo plays on a SQLite file"),
    ("sqlite:///precious.db", "precious.db exists and is not a database an earlier demo made"),
])
def test_the_demo_refuses_a_db_it_must_not_replace(tmp_path, url, message):
    (tmp_path / "precious.db").write_bytes(b"somebody's data")
    done = workflow(url, "demo", cwd=tmp_path)
    assert (done.returncode, done.stderr.count("\n")) == (2, 1), done.stderr
    assert message in done.stderr
    assert (tmp_path / "precious.db").read_bytes() == b"somebody's data"


# --- output cut short says so; a closed pipe is quiet ------------------------------------------


@pytest.fixture
def crowded(payment: Engine, database_url: str) -> str:
    """The payment workflow with 120 instances (120 audit events)."""
    from workflow import StartRequest

    request = StartRequest({}, None, (), None, None, None)
    payment.start_many("payment", Actor("c1", ["clerk"]), [request] * 120)
    return database_url


# (case, the arguments, what stderr says)
CUT_SHORT = [
    ("list at its default", ("list", "--json"), "showing 100 of 120; use --limit to see more\n"),
    ("list raised", ("list", "--limit", "120"), ""),
    ("search lowered", ("audit", "search", "--limit", "7"),
     "showing 7 of 120; use --limit to see more\n"),
    ("search json", ("audit", "search", "--limit", "7", "--json"),
     "showing 7 of 120; use --limit to see more\n"),
    ("search all", ("audit", "search"), ""),
]


@pytest.mark.parametrize(("args", "said"), [c[1:] for c in CUT_SHORT],
                         ids=[c[0] for c in CUT_SHORT])
def test_output_cut_short_says_so_on_stderr(crowded, args, said):
    done = workflow(crowded, *args)
    assert (done.returncode, done.stderr) == (0, said)


@pytest.mark.parametrize("backend", ["sqlite"])  # refused while parsing, before any database
@pytest.mark.parametrize("args", [("list", "--limit", "10001"),
                                  ("audit", "search", "--limit", "1000001")])
def test_limit_is_bounded(database_url, args):
    assert workflow(database_url, *args).returncode == 2


@pytest.mark.parametrize("args", [("audit", "search"), ("list", "--json")])
def test_a_closed_pipe_ends_quietly_with_141(crowded, args):
    reader_gone = subprocess.Popen(
        [*CONSOLE, "--db", crowded, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "WORKFLOW_LOG_LEVEL": "warning"},
    )
    assert reader_gone.stdout is not None
    assert reader_gone.stderr is not None
    reader_gone.stdout.close()  # as `| head` does, before the command has written
    assert reader_gone.wait(timeout=120) == 141
    assert reader_gone.stderr.read() == b""
    reader_gone.stderr.close()


def test_directive_report_takes_json(demo_folder):
    db = f"sqlite:///{demo_folder / 'mine.db'}"
    at = ("--at", "2020-10-01T00:00:00Z")
    as_json = workflow(db, "directive", "report", "19-CV/ĐUK", *at, "--json")
    as_format = workflow(db, "directive", "report", "19-CV/ĐUK", *at, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert as_json.stdout == as_format.stdout
    both = workflow(db, "directive", "report", "19-CV/ĐUK", "--json", "--format", "csv")
    assert both.returncode == 2


# --- registered functions for the CLI -----------------------------------------------------------

GUARDED = """\
name: budgeted
labels: {vi: Ngân sách, en: Budgeted}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - trigger: finish
    source: open
    dest: done
    roles: [clerk]
    guards: [{function: budget_ok}]
"""

MODULE = """\
from workflow import default_registry

@default_registry.guard("budget_ok")
def budget_ok(ctx):
    return True


def register(registry):
    registry.guard("budget_ok")(budget_ok)
"""


@pytest.fixture
def functions_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on PYTHONPATH with ``budget_guards.py`` and the budgeted definition."""
    (tmp_path / "budget_guards.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "budgeted.yaml").write_text(GUARDED, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return tmp_path


def test_validate_needs_the_functions_and_takes_them_from_an_option(functions_folder):
    db = f"sqlite:///{functions_folder / 'x.db'}"
    without = workflow(db, "definitions", "validate", "budgeted.yaml", cwd=functions_folder)
    assert (without.returncode, "'budget_ok' is not registered" in without.stderr) == (2, True)
    given = workflow(db, "--functions", "budget_guards", "definitions", "validate",
                     "budgeted.yaml", cwd=functions_folder)
    assert given.returncode == 0, given.stderr


def test_show_and_graph_work_without_the_functions(functions_folder, database_url):
    assert workflow(database_url, "--functions", "budget_guards", "definitions", "deploy",
                    "budgeted.yaml", cwd=functions_folder).returncode == 0
    for args in (("definitions", "show", "budgeted"), ("definitions", "graph", "budgeted")):
        done = workflow(database_url, *args, cwd=functions_folder)
        assert (done.returncode, done.stderr) == (0, ""), args


def test_functions_load_from_the_entry_point_group(functions_folder, database_url):
    info = functions_folder / "budget_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: budget-plugin\nVersion: 1.0\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[workflow.functions]\nbudget = budget_guards:register\n", encoding="utf-8")
    assert workflow(database_url, "definitions", "deploy", "budgeted.yaml",
                    cwd=functions_folder).returncode == 0
    assert workflow(database_url, "actors", "add", "lan", "--role", "clerk").returncode == 0
    assert workflow(database_url, "start", "budgeted", "--actor", "lan").returncode == 0
    fired = workflow(database_url, "fire", "1", "finish", "--actor", "lan")
    assert fired.returncode == 0, fired.stderr


def test_a_module_that_cannot_load_is_one_line_exit_2(functions_folder):
    done = workflow("sqlite:///x.db", "--functions", "no_such_module", "definitions", "validate",
                    "budgeted.yaml", cwd=functions_folder)
    assert (done.returncode, done.stderr.count("\n")) == (2, 1), done.stderr
    assert "cannot load functions from module 'no_such_module'" in done.stderr
