"""The files shipped inside the package: built-in definitions, the 19-CV/ĐUK example, the docs,
and a demo that leaves nothing half-made when it fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cli.main import run as cli_run
from cli.simulation import run_demo
from workflow import Engine, InvalidInput
from workflow.shipped import DOCS, definition_files, export_examples

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """The CLI in-process from an empty directory: (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> tuple[int, str, str]:
        code = cli_run(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_the_shipped_definitions_are_the_repository_ones():
    shipped = {p.name: p.read_bytes() for p in definition_files()}
    in_repo = {p.name: p.read_bytes() for p in (ROOT / "definitions").glob("*.yaml")}
    assert shipped == in_repo
    assert len(shipped) == 7


def test_deploy_builtin_deploys_every_shipped_definition(run, database_url):
    code, out, _ = run("--db", database_url, "definitions", "deploy", "--builtin")
    assert code == 0
    with Engine.open(database_url) as engine:
        deployed = {d.workflow for d in engine.deployed()}
    assert deployed == {p.stem for p in definition_files()}
    assert out.count("deployed ") == 7


def test_deploy_without_files_or_builtin_is_a_usage_error(run):
    code, _, err = run("definitions", "deploy")
    assert code == 2
    assert "--builtin" in err


def test_examples_export_writes_definitions_and_example(run, tmp_path):
    code, out, _ = run("examples", "export", "mine")
    assert code == 0
    written = {p.relative_to(tmp_path / "mine").as_posix() for p in (tmp_path / "mine").rglob("*")
               if p.is_file()}
    assert written == {f"definitions/{p.name}" for p in definition_files()} | {
        "examples/units.yaml", "examples/19-CV-DUK.yaml", "examples/calendar.yaml"}
    assert len(out.splitlines()) == len(written)


def test_examples_export_again_names_the_option(run, tmp_path):
    assert run("examples", "export", "mine")[0] == 0
    code, _, err = run("examples", "export", "mine")
    assert code == 2
    assert "nothing was written (--overwrite replaces them)" in err


def test_examples_export_refuses_to_overwrite_and_writes_nothing(tmp_path):
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "units.yaml").write_text("mine", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"nothing was written \(overwrite=True replaces them\)"):
        export_examples(tmp_path)
    assert not (tmp_path / "definitions").exists()
    assert (tmp_path / "examples" / "units.yaml").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("topic", sorted(p.stem for p in (ROOT / "docs").glob("*.md")))
def test_docs_prints_each_shipped_document(run, topic):
    code, out, _ = run("docs", topic)
    assert code == 0
    assert out == (DOCS / f"{topic}.md").read_text(encoding="utf-8")


def test_docs_unknown_topic_lists_the_topics(run):
    code, _, err = run("docs", "nope")
    assert code == 2
    assert err.count("\n") == 1
    assert "cli, definitions" in err


def test_a_failed_demo_leaves_nothing_and_keeps_the_old_file(tmp_path):
    old = tmp_path / "demo.db"
    old.write_bytes(b"")  # an empty file is replaceable, so the demo is played and fails
    bad = tmp_path / "bad.yaml"
    bad.write_text("number: [not a directive\n", encoding="utf-8")
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the error, nothing is left
        run_demo(old, directive_file=bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "demo.db"]
    assert (old.exists(), old.read_bytes()) == (True, b"")


def test_postgresql_without_the_driver_names_the_extra(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    code, _, err = run("--db", "postgresql+psycopg://u@127.0.0.1:1/x", "db", "current")
    assert code == 2
    assert err.count("\n") == 1
    assert "pip install 'directive-workflow[postgres]'" in err
