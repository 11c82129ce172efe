"""Behaviour tests for definitions: every shipped scenario file passes, and a failed expectation,
a bad scenario file and the command's exit codes read as an administrator needs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli

from workflow import DefinitionError
from workflow.scenarios import run_scenarios

ROOT = Path(__file__).parents[1]
SCENARIO_FILES = sorted(
    [*ROOT.joinpath("examples").rglob("*.scenarios.yaml"),
     *ROOT.joinpath("definitions").rglob("*.scenarios.yaml")]
)
ORDER = ROOT / "examples" / "peers" / "order_control.scenarios.yaml"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.name for p in SCENARIO_FILES])
def test_every_shipped_scenario_passes(path: Path) -> None:
    report = run_scenarios(path)
    assert report.failures == ()
    assert report.passed


def test_the_examples_ship_scenarios_for_each_peer_workflow() -> None:
    peers = ROOT / "examples" / "peers"
    definitions = {p.name.removesuffix(".yaml") for p in peers.glob("*.yaml")} - {
        p.name.removesuffix(".yaml") for p in peers.glob("*.scenarios.yaml")
    }
    tested = {p.name.removesuffix(".scenarios.yaml") for p in peers.glob("*.scenarios.yaml")}
    assert {d for d in definitions if not d.endswith(".scenarios")} <= tested


def test_every_shipped_definition_ships_with_scenarios() -> None:
    shipped = {p.stem for p in ROOT.joinpath("definitions").glob("*.yaml")}
    scenarios = ROOT / "definitions" / "scenarios"
    tested = {p.name.removesuffix(".scenarios.yaml") for p in scenarios.glob("*.scenarios.yaml")}
    assert shipped <= tested


def _copy(tmp_path: Path, old: str, new: str) -> Path:
    for source in ORDER.parent.glob("order_control*.yaml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    target = tmp_path / ORDER.name
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def test_a_failed_expectation_names_file_line_and_key(tmp_path: Path) -> None:
    path = _copy(tmp_path, "payments_total: 240.0", "payments_total: 241.0")
    report = run_scenarios(path)
    assert len(report.passed) == 3
    (failure,) = report.failures
    line = next(
        n for n, text in enumerate(path.read_text().splitlines(), 1) if "241.0" in text
    )
    assert (failure.file, failure.line) == (str(path), line)
    assert failure.key == "scenarios[2].steps[2].expect.data.payments_total"
    assert failure.message == (
        "paying in parts and over the total moves on: expected payments_total = 241.0, "
        "found 240.0"
    )


def test_an_expected_refusal_that_did_not_happen_fails(tmp_path: Path) -> None:
    path = _copy(tmp_path, "payload: {amount: 0}, refused: GuardFailed",
                 "payload: {amount: 5}, refused: GuardFailed")
    (failure,) = run_scenarios(path).failures
    assert failure.key.endswith("refused")
    assert "expected 'receive_payment' to be refused, but it moved" in failure.message


def test_a_bad_scenario_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _copy(tmp_path, "    steps:\n", "    stpes:\n")
    with pytest.raises(DefinitionError) as refused:
        run_scenarios(path)
    assert refused.value.issues[0].message == "unknown key 'stpes'"
    assert refused.value.issues[0].line == 9


def test_the_command_exits_0_1_and_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unused = f"sqlite:///{tmp_path / 'never-created.db'}"
    code, out = run_cli(capsys, unused, f"definitions test {ORDER}")
    assert (code, out) == (0, f"ok: {ORDER} (4 scenarios)\n")
    failing = _copy(tmp_path, "payments_total: 240.0", "payments_total: 241.0")
    code, out = run_cli(capsys, unused, f"definitions test {failing}")
    assert code == 1
    assert out.splitlines()[-1] == "error: 1 of 4 scenarios failed"
    assert out.splitlines()[0].startswith(f"{failing}:40: [scenarios[2].steps[2]")
    broken = _copy(tmp_path, "    steps:\n", "    stpes:\n")
    code, out = run_cli(capsys, unused, f"definitions test {broken}")
    assert code == 2
    assert not (tmp_path / "never-created.db").exists()


def test_a_failure_reads_in_vietnamese(tmp_path: Path) -> None:
    from workflow.i18n import use_language

    path = _copy(tmp_path, "payments_total: 240.0", "payments_total: 241.0")
    with use_language("vi"):
        (failure,) = run_scenarios(path).failures
    assert failure.message.endswith("mong đợi payments_total = 241.0, thực tế 240.0")
