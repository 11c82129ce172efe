"""The CLI's contract with scripts and people: --json fields, one-line errors, help, colour."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from audit_cli_support import run
from support import PAYMENT

from cli.main import cli

INSTANCE = {
    "id", "workflow", "definition_version", "state", "data", "version", "active", "unit",
    "coordinating_units", "directive_id", "item_key", "parent_id", "due_at", "created_at",
    "updated_at",
}  # fmt: skip
EVENT = {
    "id", "instance_id", "seq", "kind", "trigger", "from_state", "to_state", "actor",
    "actor_roles", "actor_unit", "reason", "payload", "data", "workflow", "definition_version",
    "definition_hash", "occurred_at", "prev_hash", "hash", "channel",
}  # fmt: skip
SEARCH_EVENT = {
    "instance_id", "seq", "occurred_at", "actor", "actor_roles", "actor_unit", "kind", "trigger",
    "from_state", "to_state", "reason", "workflow", "definition_version", "hash",
}  # fmt: skip
VERIFY = {
    "ok", "chains", "events", "partial_chains", "checkpoint_chains", "checkpoint_signed",
    "admin_events", "keys", "keyed_events", "unkeyed_events", "processes", "problems",
}  # fmt: skip


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the payment workflow, a clerk, and instance 1 paid in two steps.

    SQLite only: these tests are about the CLI layer; the store is tested on both backends.
    """
    tmp_path = tmp_path_factory.mktemp("cli")
    database_url = f"sqlite:///{tmp_path / 'workflow.db'}"
    (tmp_path / "payment.yaml").write_text(PAYMENT, encoding="utf-8")
    for args in (
        ("definitions", "deploy", str(tmp_path / "payment.yaml")),
        ("actors", "add", "c1", "--role", "clerk", "--unit", "Phòng Tài chính"),
        ("start", "payment", "--actor", "c1", "--data", '{"amount": 150}'),
        ("fire", "1", "pay", "--actor", "c1", "--payload", '{"paid": 50, "note": "Một phần"}'),
        ("fire", "1", "pay", "--actor", "c1", "--payload", '{"paid": 150}'),
    ):
        assert run(database_url, *args).code == 0, args
    return tmp_path / "workflow.db"


@pytest.fixture
def db(template: Path, tmp_path: Path) -> str:
    """A private copy of the template database."""
    copy = tmp_path / "workflow.db"
    shutil.copyfile(template, copy)
    return f"sqlite:///{copy}"


# (arguments, the document's shape: "object", "list" or "lines", its documented fields)
READS: list[tuple[tuple[str, ...], str, set[str]]] = [
    (("definitions", "list"), "list", {
        "workflow", "version", "content_hash", "retired", "disabled", "deployed_at",
        "deployed_by", "source_file", "live_instances"}),
    (("definitions", "show", "payment@1"), "object", {
        "workflow", "labels", "states", "transitions"}),
    (("definitions", "graph", "payment"), "object", {"workflow", "version", "format", "diagram"}),
    (("actors", "list"), "list", {"id", "roles", "unit", "name"}),
    (("show", "1"), "object", INSTANCE),
    (("list",), "list", INSTANCE),
    (("history", "1"), "list", EVENT),
    (("history", "1", "--at", "2100-01-01"), "object", {
        "instance_id", "at", "state", "data", "version", "since", "last_event"}),
    (("graph", "1"), "object", {
        "instance_id", "workflow", "version", "current", "path", "taken", "format", "diagram"}),
    (("audit", "search", "--actor", "c1"), "lines", SEARCH_EVENT),
    (("audit", "verify"), "object", VERIFY),
    (("db", "current"), "object", {"current", "head", "up_to_date", "ahead"}),
]  # fmt: skip


@pytest.mark.parametrize(("args", "shape", "fields"), READS, ids=[" ".join(r[0]) for r in READS])
def test_json_output_parses_and_has_the_documented_fields(db, args, shape, fields):
    result = run(db, *args, "--json")
    assert result.code == 0, result.err
    if shape == "lines":
        records = result.jsonl()
    else:
        document = result.json()
        records = [document] if shape == "object" else document
    assert records
    for record in records:
        assert set(record) == fields


def test_export_is_json_lines_with_a_header_and_every_exported_field(db):
    from workflow.auditing import ADMIN_EXPORT_FIELDS, EXPORT_FIELDS

    result = run(db, "audit", "export")
    header, *records = result.jsonl()
    assert header["record"] == "header"
    assert (header["whole_chains"], header["admin_log"]) == (True, True)
    events = [r for r in records if r["record"] == "event"]
    admin = [r for r in records if r["record"] == "admin"]
    assert [set(e) for e in events] == [{"record", *EXPORT_FIELDS}] * 3
    assert [set(a) for a in admin] == [{"record", *ADMIN_EXPORT_FIELDS}] * 2
    assert records == [*events, *admin]  # the administrators' log follows the events


def test_checkpoint_json_summary(db, tmp_path):
    result = run(db, "audit", "checkpoint", "-o", str(tmp_path / "cp.json"), "--json")
    assert result.json() == {
        "file": str(tmp_path / "cp.json"),
        "created_at": result.json()["created_at"],
        "chains": 1,
        "events": 3,
        "admin_events": 2,
        "signed": False,
    }


# (arguments, exit code, a phrase of the one-line message)
ERRORS: list[tuple[tuple[str, ...], int, str]] = [
    (("show", "999"), 1, "instance 999 not found"),
    (("fire", "1", "pay", "--actor", "nobody"), 1, "actor nobody not found"),
    (("fire", "1", "fly", "--actor", "c1"), 1, "fly"),
    (("start", "payment", "--actor", "c1", "--data", "{bad"), 2, "--data is not valid JSON"),
    (("start", "payment", "--actor", "c1", "--data", "@/nonexistent.json"), 2, "cannot read"),
    (("definitions", "graph", "payment@x"), 2, "the version after @ is a number"),
    (("history", "1", "--at", "2024-01-01T00:00:00"), 2, "no time zone"),
    (("history", "1", "--at", "1999-01-01"), 2, "did not exist yet"),
    (("audit", "search", "--since", "2024-02-01", "--until", "2024-01-01"), 2, "range is empty"),
    (("audit", "verify", "--file", __file__), 2, "is neither a JSON Lines nor a CSV"),
    (("show",), 2, "Missing argument"),
    (("nosuch",), 2, "No such command"),
    (("fire", "1", "pay", "--actor", "c1", "--expected-version", "9"), 4, "version"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "phrase"), ERRORS, ids=str)
def test_expected_errors_are_one_line_with_their_exit_code(db, args, code, phrase):
    result = run(db, *args)
    assert result.code == code
    assert len(result.err.strip().splitlines()) == 1
    assert result.err.startswith("error: ")
    assert phrase in result.err
    assert "Traceback" not in result.err + result.out


def test_svg_without_graphviz_says_how_to_install_it(db, tmp_path):
    result = run(db, "definitions", "graph", "payment", "--format", "svg", env={"PATH": ""})
    assert result.code == 2
    assert "apt install graphviz" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_vietnamese_text_lines_up_in_tables(db):
    run(db, "actors", "add", "người-dùng-2", "--role", "clerk", "--unit", "Tổ 1")
    lines = run(db, "actors", "list").out.splitlines()
    from cli.output import width

    assert width(lines[0].split("unit")[0]) == width(lines[2].split("Phòng")[0])
    assert width(lines[0].split("unit")[0]) == width(lines[3].split("Tổ 1")[0])


def _leaf_commands(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    if isinstance(command, click.Group):
        return [
            leaf
            for name, sub in command.commands.items()
            for leaf in _leaf_commands(sub, f"{path} {name}")
        ]
    return [(path, command)]


def test_every_command_has_an_example_and_every_option_has_help():
    missing = [
        path for path, command in _leaf_commands(cli, "workflow") if "Example" not in command.help
    ]
    missing += [
        f"{path} {param.opts[0]}"
        for path, command in _leaf_commands(cli, "workflow")
        for param in command.params
        if isinstance(param, click.Option) and not param.help
    ]
    assert missing == []


def test_help_groups_commands_in_sections(db):
    out = run(db, "--help").out
    positions = [out.index(f"\n{title}:") for title in ("Definitions", "Instances", "Audit")]
    assert positions == sorted(positions)
    assert "_WORKFLOW_COMPLETE=bash_source" in out


def test_no_color_is_honoured(monkeypatch):
    from cli.output import paint

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" in paint("ok", "green")
    monkeypatch.setenv("NO_COLOR", "1")
    assert paint("ok", "green") == "ok"


def test_no_colour_when_not_a_terminal(db):
    assert "\x1b[" not in run(db, "audit", "verify").out


# --- real processes ---------------------------------------------------------------------------


def _workflow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("workflow")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def test_help_imports_nothing_heavy():
    # the help reads its language and catalogue: workflow.i18n, with the root's light modules
    light = "{'workflow', 'workflow.i18n', 'workflow.errors', 'workflow.clock', " \
        "'workflow.limits', 'workflow.records'}"
    probe = (
        "import sys\nfrom cli.main import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = {'workflow', 'sqlalchemy', 'structlog', 'yaml', 'pydantic', 'transitions'}\n"
        f"light = {light}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy and m not in light), "
        "file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stderr.strip() == "[]"


def test_version_in_a_real_process():
    done = _workflow("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("workflow, version ")


def test_json_and_exit_codes_in_a_real_process(db):
    assert json.loads(_workflow("--db", db, "show", "1", "--json").stdout)["state"] == "paid"
    failed = _workflow("--db", db, "show", "999")
    assert failed.returncode == 1
    assert failed.stderr == "error: instance 999 not found\n"


def test_colour_on_a_terminal_unless_no_color(db):
    import pty

    def on_terminal(env: dict[str, str]) -> bytes:
        exe = str(Path(sys.executable).with_name("workflow"))
        pid, fd = pty.fork()
        if pid == 0:  # the child: its stdout is the terminal
            os.execve(exe, [exe, "--db", db, "audit", "verify"], {**os.environ, **env})
        chunks = []
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.waitpid(pid, 0)
        return b"".join(chunks)

    green = b"\x1b[32m"  # the colour of "ok"; the progress bar's cursor codes are not colour
    assert green in on_terminal({"NO_COLOR": ""})
    assert green not in on_terminal({"NO_COLOR": "1"})


# --- exports verified offline ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_verifies_offline_without_the_database(db, tmp_path, fmt):
    run(db, "fire", "1", "cancel", "--actor", "c1", "--reason", '\\N, "trùng"')
    run(db, "start", "payment", "--actor", "c1", "--data", '{"note": "\\\\N"}')
    export = tmp_path / f"audit.{fmt}"
    assert run(db, "audit", "export", "--format", fmt, "-o", str(export)).code == 0
    result = run("sqlite:////nonexistent/dir/none.db", "audit", "verify", "--file", str(export))
    assert result.code == 0, result.err
    assert result.out.startswith("ok: 2 chains, 4 events verified")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_edited_export_fails_offline_verification(db, tmp_path, fmt):
    export = tmp_path / f"audit.{fmt}"
    run(db, "audit", "export", "--format", fmt, "-o", str(export))
    export.write_text(export.read_text().replace("Một phần", "Toàn bộ"))
    result = run(db, "audit", "verify", "--file", str(export), "--json")
    assert result.code == 3
    assert result.json()["problems"] == [
        {
            "instance_id": 1,
            "seq": 2,
            "problem": "content does not match its hash (the event was edited)",
        }
    ]


def test_export_filters_and_progress_stays_off_the_pipe(db, tmp_path):
    result = run(db, "audit", "export", "--actor", "c1", "--since", "2000-01-01")
    header, *events = result.jsonl()
    assert header["filters"] == {"actor": "c1", "since": "2000-01-01T00:00:00+00:00"}
    assert header["whole_chains"] is False
    assert len(events) == 3
    assert result.err == ""
