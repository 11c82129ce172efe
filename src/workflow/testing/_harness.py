"""An engine for an application's tests: a temporary database, a frozen clock, actors from a
table, time moved by hand and due timers run on demand, assertions on the audit log."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workflow.clock import FrozenClock, require_aware
from workflow.definition.durations import parse_span
from workflow.engine import Engine
from workflow.errors import InvalidInput
from workflow.i18n import _
from workflow.records import Actor, FireResult, Instance
from workflow.registry import Registry
from workflow.timers import TimerRun, drain_due_timers

DEFAULT_START = datetime(2020, 9, 7, 8, 0, tzinfo=UTC)
"""Where a harness's clock starts unless told (the day dispatch 19-CV/ĐUK was received)."""


def actors_from_table(table: str) -> dict[str, Actor]:
    """Actors from a small text table, one per line: ``id  roles  [unit]``, roles separated by
    commas, columns by whitespace or ``|``; blank lines, ``#`` comments and a header line whose
    first cell is ``id`` are skipped::

        | id  | roles            | unit      |
        | lan | clerk            | van_phong |
        | tam | clerk,approver   | van_phong |
        | ba  | auditor          |           |
    """
    actors: dict[str, Actor] = {}
    for number, line in enumerate(table.splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text or set(text) <= set("|-: "):
            continue
        cells = [c.strip() for c in text.strip("|").split("|")] if "|" in text else text.split()
        if cells[0].lower() == "id":
            continue
        if len(cells) < 2 or len(cells) > 3:
            raise InvalidInput(
                _("actors table, line {number}: expected id, roles and unit", number=number)
            )
        roles = [r.strip() for r in cells[1].split(",") if r.strip()]
        unit = cells[2] if len(cells) == 3 and cells[2] else None
        actors[cells[0]] = Actor(cells[0], roles, unit)
    return actors


class Harness:
    """An engine on a test database with a frozen clock and named actors.

    Made by :func:`harness` (or the pytest fixture ``workflow_harness``); every verb of the
    engine is at hand through :attr:`engine`.
    """

    def __init__(self, engine: Engine, clock: FrozenClock, actors: Mapping[str, Actor]) -> None:
        self.engine = engine
        self.clock = clock
        self.actors = dict(actors)

    def actor(self, who: str | Actor) -> Actor:
        """The actor named ``who`` in the harness's table (an :class:`Actor` is itself)."""
        if isinstance(who, Actor):
            return who
        try:
            return self.actors[who]
        except KeyError:
            raise InvalidInput(
                _(
                    "no actor {who!r} in the test's actors ({known})",
                    who=who,
                    known=", ".join(sorted(self.actors)),
                )
            ) from None

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, by: timedelta | str) -> datetime:
        """Move the clock forward by ``by`` (a timedelta or a span: ``3d``, ``12h``, ``P1W``);
        returns the new time. Nothing fires until :meth:`run_due_timers`."""
        step = parse_span(by) if isinstance(by, str) else by
        if step < timedelta(0):
            raise InvalidInput(_("the clock only moves forward"))
        self.clock.set(self.clock.now() + step)
        return self.clock.now()

    def move_to(self, moment: datetime) -> None:
        """Set the clock to ``moment`` (aware), which may not be earlier than now."""
        moment = require_aware(moment, "moment")
        if moment < self.clock.now():
            raise InvalidInput(_("the clock only moves forward"))
        self.clock.set(moment)

    def run_due_timers(self) -> TimerRun:
        """Fire every timer due at the clock's time, as the timer worker would."""
        return drain_due_timers(self.engine, worker_id="test-harness")

    def start(self, workflow: str, who: str | Actor, **options: Any) -> FireResult:
        """:meth:`Engine.start <workflow.Engine.start>` as the named actor."""
        return self.engine.start(workflow, self.actor(who), **options)

    def fire(self, instance_id: int, trigger: str, who: str | Actor, **options: Any) -> FireResult:
        """:meth:`Engine.fire <workflow.Engine.fire>` as the named actor."""
        return self.engine.fire(instance_id, trigger, self.actor(who), **options)

    def allowed(self, instance_id: int, who: str | Actor, **options: Any) -> tuple[str, ...]:
        """The triggers the named actor may fire now (``Engine.available_triggers``)."""
        return self.engine.available_triggers(instance_id, self.actor(who), **options).allowed

    def get(self, instance_id: int) -> Instance:
        return self.engine.get(instance_id)

    def assert_state(self, instance_id: int, state: str) -> None:
        """The instance is in ``state``."""
        actual = self.engine.get(instance_id).state
        assert actual == state, f"instance {instance_id} is in {actual!r}, not {state!r}"

    def assert_history(self, instance_id: int, steps: Sequence[str]) -> None:
        """The instance's audit log, as its triggers in order (``start`` for the first event,
        ``migrated`` for a move to another version), is exactly ``steps``."""
        actual = [e.trigger or e.kind for e in self.engine.history(instance_id)]
        assert actual == list(steps), f"instance {instance_id}'s history is {actual}"

    def assert_verified(self) -> None:
        """Every audit chain and the administrators' log verify."""
        report = self.engine.verify()
        assert report.ok, "; ".join(str(p) for p in report.problems)


@contextmanager
def harness(
    definitions: Iterable[str | Path] = (),
    *,
    actors: Mapping[str, Actor] | str = "",
    registry: Registry | None = None,
    start: datetime = DEFAULT_START,
    database_url: str | None = None,
) -> Iterator[Harness]:
    """A :class:`Harness` on a temporary SQLite file (deleted afterwards), or on
    ``database_url`` (an empty database, migrated here: a test server's), with a frozen clock
    at ``start`` and ``definitions`` deployed: each a file path, or YAML text (a string with a
    newline). ``actors``: a mapping, or a table for :func:`actors_from_table`."""
    clock = FrozenClock(require_aware(start, "start"))
    table = actors_from_table(actors) if isinstance(actors, str) else dict(actors)
    with tempfile.TemporaryDirectory(prefix="workflow-test-") as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'workflow.db'}"
        if database_url is not None:
            with Engine(url, check_schema=False, keys_from_environment=False) as setup:
                setup.upgrade_schema()
        engine = Engine.open(
            url, clock=clock, registry=registry or Registry(), keys_from_environment=False
        )
        try:
            for definition in definitions:
                if isinstance(definition, str) and "\n" in definition:
                    engine.deploy_text(definition, filename="<test definition>")
                else:
                    engine.deploy(definition)
            yield Harness(engine, clock, table)
        finally:
            engine.close()
