"""Testing an application that embeds the engine: :func:`harness` gives an engine on a temporary
database with a frozen clock, actors from a table, time moved by hand, due timers run on
demand and assertions on the audit log; the pytest plugin (``workflow.testing.plugin``,
registered as the ``pytest11`` entry point ``workflow``) offers it as the ``workflow_harness``
fixture. See docs/embedding.md, "Testing your application".
"""

from __future__ import annotations

from workflow.testing._harness import DEFAULT_START, Harness, actors_from_table, harness

__all__ = ["DEFAULT_START", "Harness", "actors_from_table", "harness"]
