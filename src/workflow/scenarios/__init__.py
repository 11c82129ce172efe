"""Behaviour tests for definitions: an administrator's scenarios, run before deploy.

:mod:`~workflow.scenarios.runner` reads a scenario file (the definitions it tests, actors, and
scenarios of starts, fires, waits and expectations) and runs each scenario on a temporary
database, reporting every failed expectation with file and line (``workflow definitions test``).
"""

from __future__ import annotations

from workflow.scenarios.runner import (
    ScenarioFailed,
    ScenarioReport,
    read_scenarios,
    run_scenarios,
)

__all__ = ["ScenarioFailed", "ScenarioReport", "read_scenarios", "run_scenarios"]
