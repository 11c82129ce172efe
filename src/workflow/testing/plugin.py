"""The pytest plugin: fixtures for an application's tests (entry point ``pytest11``:
``workflow``, so installing the package is enough).

``workflow_harness`` is a :class:`~workflow.testing.Harness` on a temporary SQLite file. Shape
it by overriding, in the application's ``conftest.py``, any of the fixtures it builds on:

- ``workflow_definitions``: the definitions to deploy (paths, or YAML text); none by default;
- ``workflow_actors``: the actors, as a table (``id  roles  unit``) or a mapping;
- ``workflow_registry``: the guard and effect functions the definitions name;
- ``workflow_start``: where the frozen clock starts;
- ``workflow_database_url``: a database to use instead of a temporary SQLite file (empty;
  migrated by the fixture), e.g. a PostgreSQL schema of the application's test server.

The workflow package itself is imported only when a test asks for a fixture.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from workflow.records import Actor
    from workflow.registry import Registry
    from workflow.testing import Harness


@pytest.fixture
def workflow_definitions() -> Sequence[str | Path]:
    """The definitions ``workflow_harness`` deploys (override it): paths or YAML text."""
    return ()


@pytest.fixture
def workflow_actors() -> Mapping[str, Actor] | str:
    """The actors of ``workflow_harness`` (override it): a table or a mapping."""
    return ""


@pytest.fixture
def workflow_registry() -> Registry:
    """The guard and effect functions of ``workflow_harness`` (override it)."""
    from workflow.registry import Registry

    return Registry()


@pytest.fixture
def workflow_start() -> datetime:
    """Where ``workflow_harness``'s frozen clock starts (override it)."""
    from workflow.testing import DEFAULT_START

    return DEFAULT_START


@pytest.fixture
def workflow_database_url() -> str | None:
    """The database of ``workflow_harness``: None for a temporary SQLite file (override it)."""
    return None


@pytest.fixture
def workflow_harness(
    workflow_definitions: Sequence[str | Path],
    workflow_actors: Mapping[str, Actor] | str,
    workflow_registry: Registry,
    workflow_start: datetime,
    workflow_database_url: str | None,
) -> Iterator[Harness]:
    """An engine on a fresh database, a frozen clock, the actors, the definitions deployed."""
    from workflow.testing import harness

    with harness(
        workflow_definitions,
        actors=workflow_actors,
        registry=workflow_registry,
        start=workflow_start,
        database_url=workflow_database_url,
    ) as made:
        yield made
