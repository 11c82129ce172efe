"""Run the ``workflow`` command in-process, as a person would type it, with its exit code."""

from __future__ import annotations

import shlex

import pytest

from cli.main import main


def run_cli(capsys: pytest.CaptureFixture[str], db_url: str, command: str) -> tuple[int, str]:
    """``command`` is what follows ``workflow`` on the command line; returns (exit code, output)."""
    args = shlex.split(command)
    if args and args[0] == "workflow":
        args = args[1:]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["--db", db_url, *args])
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), captured.out + captured.err
