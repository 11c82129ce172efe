"""A sample :class:`Event` for tests that need one without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from workflow.events import Event


def sample_event(**changes: object) -> Event:
    """An archiving event of Chi bộ X under directive 35-CV/ĐUK; ``changes`` override fields."""
    base = Event(
        id=41,
        audit_id=40,
        instance_id=12,
        seq=3,
        workflow="archiving",
        trigger="submit",
        from_state="drafting",
        to_state="awaiting_archive",
        actor="bi_thu_x",
        actor_unit="chi_bo_x",
        occurred_at=datetime(2020, 9, 15, 3, 0, tzinfo=UTC),
        directive_id=1,
        directive_number="35-CV/ĐUK",
        unit="chi_bo_x",
        unit_name="Chi bộ X",
    )
    return replace(base, **changes)  # type: ignore[arg-type]
