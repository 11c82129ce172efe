"""Hostile definition files through the real CLI and the API: refused cleanly, cheaply, and early.

Every file in ``tests/corpus/definitions/`` (plus a file of tens of megabytes made at test time)
must give exit code 2 from ``workflow definitions validate`` and ``deploy``, one message naming
the file and the line, no traceback, no row written, and stay under the caps below.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_support import count, row_counts, run_cli

from workflow import DefinitionError, Engine

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "definitions"
HUGE_BYTES = 24 * 1024 * 1024

CPU_CAP_S = 2.0
"""CPU seconds one hostile file may cost the CLI (getrusage; generous for a loaded CI box)."""
RSS_CAP_KB = 64 * 1024
"""How far one hostile file may raise the process's peak resident memory."""

# file → (line the message must name, a fragment of the message)
EXPECTED = {
    "billion_laughs.yaml": (4, "anchors"),
    "code_in_guard.yaml": (15, "guards[0].function"),
    "control_chars.yaml": (2, "is not allowed in YAML"),
    "deep_mappings.yaml": (3, "nesting deeper than 32"),
    "deep_sequences.yaml": (2, "nesting deeper than 32"),
    "duplicate_keys.yaml": (10, "duplicate key 'name'"),
    "duplicate_states.yaml": (8, "duplicate key 'draft'"),
    "empty.yaml": (1, "empty"),
    "expr_backslashes.yaml": (17, "is not closed"),
    "expr_deep.yaml": (17, "nested more than"),
    "expr_long.yaml": (17, "an expression has at most 1,000"),
    "expr_loop.yaml": (17, "expressions have no loops"),
    "expr_regex.yaml": (17, "no regular expressions"),
    "expr_wide.yaml": (17, "more than 200 operations"),
    "merge_key.yaml": (3, "anchors"),
    "non_utf8.yaml": (2, "not valid UTF-8"),
    "not_a_mapping.yaml": (1, "a definition is a mapping"),
    "nul_escape.yaml": (1, "[name]"),
    "python_name.yaml": (4, "python/name"),
    "python_object.yaml": (1, "python/object"),
    "syntax_error.yaml": (3, "YAML syntax error"),
    "undefined_target.yaml": (10, "'limbo' is not defined"),
    "unknown_keys.yaml": (13, "unknown key"),
    "unreachable_state.yaml": (8, "cannot be reached"),
    "huge.yaml": (None, "the limit of 1,048,576 bytes"),
}


def test_the_corpus_on_disk_is_the_one_the_table_describes() -> None:
    on_disk = {p.name for p in CORPUS.glob("*.yaml")}
    assert on_disk | {"huge.yaml"} == set(EXPECTED)


@pytest.fixture(scope="module")
def huge_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tens of megabytes of otherwise valid-looking YAML, made here rather than committed."""
    path = tmp_path_factory.mktemp("huge") / "huge.yaml"
    line = b"# padding padding padding padding padding padding padding padding padding\n"
    with path.open("wb") as handle:
        handle.write(b"name: huge\n")
        for _ in range(HUGE_BYTES // len(line)):
            handle.write(line)
    return path


@pytest.fixture(scope="module")
def corpus_files(huge_file: Path) -> dict[str, Path]:
    files = {p.name: p for p in sorted(CORPUS.glob("*.yaml"))}
    files["huge.yaml"] = huge_file
    return files


@pytest.fixture(scope="module")
def cli_results(corpus_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One fresh interpreter runs validate and deploy over the whole corpus."""
    work = tmp_path_factory.mktemp("corpus")
    url = f"sqlite:///{work / 'corpus.db'}"
    runs = []
    for path in corpus_files.values():
        runs.append(["definitions", "validate", str(path)])
        runs.append(["--db", url, "definitions", "deploy", str(path)])
    results = run_cli(work, url, runs)
    by_name: dict[str, tuple[str, dict]] = {}
    for path, validate, deploy in zip(
        corpus_files.values(), results["runs"][::2], results["runs"][1::2], strict=True
    ):
        by_name[path.name] = (str(path), {"validate": validate, "deploy": deploy})
    results["by_name"] = by_name
    return results


@pytest.mark.parametrize("command", ["validate", "deploy"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_refuses_hostile_file(name: str, command: str, cli_results: dict) -> None:
    """Exit 2, one message naming file and line, no traceback, nothing written, under the caps."""
    count("hostile definitions (CLI):total")
    path, cases = cli_results["by_name"][name]
    result = cases[command]
    line, fragment = EXPECTED[name]
    place = path if line is None else f"{path}:{line}"
    assert result["exit"] == 2, result
    assert result["stdout"] == ""
    assert "Traceback" not in result["stderr"]
    *issues, summary = result["stderr"].splitlines()
    assert summary.startswith("error: invalid definition (")
    assert len(issues) >= 1
    assert all(row.strip().startswith(place) for row in issues), result["stderr"]
    assert fragment in result["stderr"]
    assert result["cpu_s"] < CPU_CAP_S
    assert result["rss_rise_kb"] < RSS_CAP_KB
    if command == "deploy":
        assert result["rows_after"] == cli_results["rows_before"]
    count("hostile definitions (CLI):passed")


def test_api_deploy_refuses_every_hostile_file(
    engine: Engine, corpus_files: dict[str, Path]
) -> None:
    """On both backends: a DefinitionError naming the file for each, and no row written."""
    before = row_counts(engine)
    for name, path in corpus_files.items():
        count("hostile definitions (API):total")
        with pytest.raises(DefinitionError) as raised:
            engine.deploy(path)
        assert all(issue.file == str(path) for issue in raised.value.issues), name
        assert raised.value.issues[0].line == EXPECTED[name][0], name
        count("hostile definitions (API):passed")
    assert row_counts(engine) == before
