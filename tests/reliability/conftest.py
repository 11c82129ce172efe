"""The reliability suite prints what it exercised: examples, steps and corpus cases."""

from __future__ import annotations

import pytest
from reliability_support import COUNTS, PROFILE


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not COUNTS:
        return
    terminalreporter.section(f"reliability counts (hypothesis profile {PROFILE!r})")
    for key in sorted(COUNTS):
        if key.endswith(":total"):
            continue
        total = COUNTS.get(key.replace(":passed", ":total"))
        if key.endswith(":passed") and total is not None:
            terminalreporter.write_line(
                f"{key.removesuffix(':passed')}: {COUNTS[key]}/{total} passed"
            )
        else:
            terminalreporter.write_line(f"{key}: {COUNTS[key]}")
