"""The first cut of the CLI: commands, --json, one-line errors and the documented exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import PAYMENT

from cli.main import run as cli_run


@pytest.fixture
def run(database_url, tmp_path, monkeypatch, capsys):
    """Invoke the CLI in-process against the test database: (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "payment.yaml").write_text(PAYMENT, encoding="utf-8")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = cli_run(["--db", database_url, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


@pytest.fixture
def deployed(run):
    assert run("definitions", "deploy", "payment.yaml")[0] == 0
    assert run("actors", "add", "lan", "--role", "clerk", "--unit", "van_phong")[0] == 0
    assert run("start", "payment", "--actor", "lan")[0] == 0
    return run


def test_deploy_twice_says_unchanged(run):
    assert run("definitions", "deploy", "payment.yaml")[1].startswith("deployed payment@1")
    assert "unchanged" in run("definitions", "deploy", "payment.yaml")[1]


def test_fire_moves_the_instance(deployed):
    code, out, _ = deployed("fire", "1", "pay", "--actor", "lan", "--payload", '{"paid": 120}')
    assert code == 0
    assert "open -> paid" in out


def test_show_json_is_one_document(deployed):
    code, out, _ = deployed("show", "1", "--json")
    assert code == 0
    assert json.loads(out)["state"] == "open"


@pytest.mark.parametrize("command", [
    ("list", "--json"), ("history", "1", "--json"), ("definitions", "list", "--json"),
    ("actors", "list", "--json"), ("audit", "verify", "--json"), ("db", "current", "--json"),
])
def test_read_commands_print_json(deployed, command):
    code, out, _ = deployed(*command)
    assert code == 0
    json.loads(out)


@pytest.mark.parametrize(("args", "code"), [
    (("fire", "1", "pay", "--actor", "nobody", "--payload", '{"paid": 1}'), 1),
    (("fire", "1", "refund", "--actor", "lan"), 1),
    (("fire", "99", "pay", "--actor", "lan"), 1),
    (("fire", "1", "pay", "--actor", "lan", "--payload", "{not json"), 2),
    (("fire", "1", "pay", "--actor", "lan", "--payload", '{"paid": 1}',
      "--expected-version", "7"), 4),
    (("start", "nope", "--actor", "lan"), 1),
])
def test_errors_exit_with_their_documented_code(deployed, args, code):
    assert deployed(*args)[0] == code


def test_unknown_actor_is_refused_with_one_line(deployed):
    code, _, err = deployed("start", "payment", "--actor", "stranger")
    assert code == 1
    assert err == "error: actor stranger not found\n"


CONSOLE = [sys.executable, "-c", "from cli.main import main; main()"]


def console(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run([*CONSOLE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, **(env or {})})


def test_invalid_definition_is_one_message_with_file_and_line_and_exit_2(tmp_path):
    (tmp_path / "bad.yaml").write_text(PAYMENT.replace("dest: paid", "dest: nowhere", 1),
                                       encoding="utf-8")
    result = console("definitions", "validate", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.yaml:17:" in result.stderr
    assert "nowhere" in result.stderr
    assert "Traceback" not in result.stderr


def test_tampering_exits_3(tmp_path):
    db = f"sqlite:///{tmp_path / 'w.db'}"
    (tmp_path / "payment.yaml").write_text(PAYMENT, encoding="utf-8")
    for args in (("definitions", "deploy", "payment.yaml"), ("actors", "add", "a", "--role",
                                                               "clerk"),
                 ("start", "payment", "--actor", "a")):
        assert console("--db", db, *args, cwd=tmp_path).returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "w.db") as conn:
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute("UPDATE audit_events SET actor = 'mallory'")
    result = console("--db", db, "audit", "verify", cwd=tmp_path)
    assert result.returncode == 3
    assert "BROKEN instance 1, event 1" in result.stdout
    assert "Traceback" not in result.stderr


def test_help_lists_the_commands(tmp_path):
    result = console("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("definitions", "start", "fire", "history", "audit"):
        assert command in result.stdout
