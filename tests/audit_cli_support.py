"""Running the real CLI entry point in-process (Click's runner) for the issue-6 tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner

from cli.main import main


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def jsonl(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def run(db_url: str, *args: str, env: dict[str, str | None] | None = None) -> Run:
    """``workflow --db DB_URL ARGS...`` through ``cli.main.main``: exit codes as in production."""
    runner = CliRunner()
    code = 0
    with runner.isolation(env=env) as (out, err, _):
        try:
            main(["--db", db_url, *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return Run(code, out.getvalue().decode(), err.getvalue().decode())
