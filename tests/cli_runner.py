"""Run the ``workflow`` command as a person would type it, with its exit code: in-process
(:func:`run_cli`) or in a real process of its own (:func:`run_process`)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence

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


def workflow_argv(*args: str) -> list[str]:
    """The command line of ``workflow ARGS`` with this interpreter (no console script needed)."""
    return [sys.executable, "-c", "from cli.main import main; main()", *args]


def run_process(
    *args: str,
    cwd: os.PathLike[str] | str,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
    umask: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """``workflow ARGS`` in its own process (``prefix``: a whole command line to run instead,
    e.g. one that sets up a mount namespace first); its exit code, stdout and stderr."""

    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        list(prefix) or workflow_argv(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
        preexec_fn=set_umask if umask is not None else None,
    )
