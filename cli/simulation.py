"""The demo: 19-CV/ĐUK carried out by its units on a simulated clock, from 07/09/2020 past the
deadline of 15/09/2020. Returns what happened; the CLI prints it.

Most units disseminate, draft, sign and archive in time; some are late; one plan is sent back
for missing content and revised; one unit's difficulty is escalated by a timer to the Standing
Committee; the Inspection Committee schedules the annual inspection. Reminders and overdue marks
come from :func:`workflow.timers.run_due_timers`, as in production. A client of the public
API like every command; not part of it.

This module runs the demo on its database file (replaced only when an earlier demo made it) and
gathers the result; who acts is in :mod:`demo_cast`, what they do and when in :mod:`demo_script`,
and the clock, timers and outbox that play it in :mod:`simulator`.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from workflow import Engine, FrozenClock, InvalidInput, VerificationReport
from workflow.admin import mark_simulation
from workflow.directives import (
    DirectiveReport,
    directive_report,
    import_directive,
    import_units,
    list_units,
)
from workflow.i18n import _
from workflow.shipped import DIRECTIVE, UNITS, definition_files

from .demo_cast import STAFF, secretary
from .demo_script import END, NUMBER, START, script
from .simulator import Simulator


@dataclass(frozen=True)
class DemoResult:
    """What the demo did: the database it left, its timeline, the report and the audit check."""

    db_path: Path
    url: str
    timeline: tuple[str, ...]
    report: DirectiveReport
    verification: VerificationReport
    timers_fired: int
    instances: int
    highlights: Mapping[str, int] = field(default_factory=dict)
    """Instances worth a look (their history tells a story), by what happened to them."""
    notices: tuple[str, ...] = ()
    """"Who acts next" sentences delivered from the outbox, stamped with the simulated time."""


def run_demo(
    db_path: str | Path = "demo.db",
    *,
    definitions_dir: str | Path | None = None,
    units_file: str | Path | None = None,
    directive_file: str | Path | None = None,
) -> DemoResult:
    """Replace ``db_path`` with a fresh SQLite database and play the simulation on it.

    A file that exists is replaced only when an earlier demo made it (every administrative
    change in it was the demo's): anything else is refused with :class:`~workflow.InvalidInput`.

    The shipped definitions, units and dispatch are played unless other files are given. The
    database is built in a temporary folder beside ``db_path`` and moved into place only when
    the simulation has finished: a failed demo leaves nothing behind (and the old file as it was).
    """
    path = Path(db_path)
    if not _replaceable(path):
        raise InvalidInput(
            f"{path} exists and is not a database an earlier demo made: the demo replaces its "
            "file, so give it another (it plays on demo.db by default)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as scratch:
        building = Path(scratch) / path.name
        result = _play(
            building,
            path,
            sorted(Path(definitions_dir).glob("*.yaml"))
            if definitions_dir is not None
            else definition_files(),
            units_file or UNITS,
            directive_file or DIRECTIVE,
        )
        for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        building.replace(path)
    return result


DEMO_ACTOR = "demo"


def _replaceable(path: Path) -> bool:
    """True when nothing is at ``path``, or an empty file, or a database the demo made."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return True
    # Read-only, with the standard library: nothing is written to a file that is not ours.
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT DISTINCT actor FROM admin_events").fetchall()
    except sqlite3.Error:
        return False  # not a SQLite database, or not the engine's
    return {str(row[0]) for row in rows} == {DEMO_ACTOR}


def _play(
    building: Path,
    path: Path,
    definitions: list[Path],
    units_file: str | Path,
    directive_file: str | Path,
) -> DemoResult:
    """Play the simulation on a new SQLite file ``building``, to be moved to ``path``."""
    clock = FrozenClock(START)
    with Engine.open(f"sqlite:///{building}", clock=clock) as engine:
        sim = Simulator(engine, clock)
        mark_simulation(engine, by=DEMO_ACTOR)  # first in its log: every event is simulated
        for file in definitions:
            engine.deploy(file, actor=DEMO_ACTOR)
        units = import_units(engine, units_file)
        sim.note(_("units registered: {count}", count=units.created))
        imported = import_directive(engine, directive_file, by=DEMO_ACTOR)
        sim.directive_id = imported.directive.id
        sim.note(imported.message)
        base = [(u.code, u.name_vi) for u in list_units(engine, "base")]
        for unit in ("ban_to_chuc", *(code for code, _name in base)):
            engine.add_actor(secretary(unit).id, secretary(unit).roles, unit=unit, by=DEMO_ACTOR)
        for actor in STAFF:
            engine.add_actor(actor.id, actor.roles, unit=actor.unit, by=DEMO_ACTOR)
        script(sim, base)
        sim.run()
        sim.tick(END)
        report = directive_report(engine, NUMBER)
        verification = engine.verify()
        count = len(engine.instances(limit=10_000))
    return DemoResult(
        path,
        f"sqlite:///{path}",
        tuple(sim.timeline),
        report,
        verification,
        sim.timers_fired,
        count,
        dict(sim.highlights),
        tuple(sim.notices),
    )
