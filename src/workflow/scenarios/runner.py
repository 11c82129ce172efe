"""Behaviour tests for definitions: scenario files run on a temporary database before deploy.

A scenario file names the definitions it tests, the actors, and scenarios; each scenario starts
an instance and takes steps (fire a trigger as an actor with a payload, let time pass so due
timers fire, check the state and data), each step expecting a result or a refusal. Every scenario
runs on its own copy of a temporary SQLite database holding the definitions and actors, so one
scenario never sees another's instances, and ends with ``audit verify`` replaying what it wrote.
A failed expectation is reported with the file and the line of the step. The format:
docs/definitions.md, "Testing a definition".
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workflow.clock import FrozenClock
from workflow.definition.durations import parse_duration
from workflow.definition.loader import schema_issues
from workflow.definition.yamlsafe import Marks, dotted, read_file, read_yaml
from workflow.definition.yamlsafe import Path as KeyPath
from workflow.engine import Engine
from workflow.errors import DefinitionError, DefinitionIssue, WorkflowError
from workflow.i18n import _, ngettext, use_language
from workflow.records import Actor
from workflow.registry import Registry
from workflow.timers import drain_due_timers, due_instances

DEFAULT_START = datetime(2030, 1, 7, 1, 0, tzinfo=UTC)
"""When a scenario file gives no ``clock``: a Monday morning in Hanoi."""


class ScenarioFailed(WorkflowError):
    """Scenarios whose expectations did not hold; ``issues`` names each with file and line."""

    def __init__(self, issues: Sequence[DefinitionIssue], ran: int) -> None:
        self.issues = tuple(issues)
        self.ran = ran
        head = ngettext(
            "{failed} of {count} scenario failed",
            "{failed} of {count} scenarios failed",
            ran,
            failed=len(self.issues),
        )
        super().__init__(head + "\n" + "\n".join(f"  {issue}" for issue in self.issues))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActorModel(_Strict):
    roles: Annotated[list[str], Field(min_length=1)]
    unit: str | None = None


class ExpectModel(_Strict):
    state: str | None = None
    data: dict[str, Any] | None = None
    active: bool | None = None
    overdue: bool | None = None
    """Whether ``workflow list --overdue`` lists the instance now."""


class StartModel(_Strict):
    workflow: str
    actor: str
    data: dict[str, Any] = {}
    unit: str | None = None
    coordinating_units: list[str] = []


class StepModel(_Strict):
    """One step: ``fire`` (as ``actor``, with ``payload`` and ``reason``), ``wait`` (a duration:
    the clock moves and due timers fire), or only ``expect``; ``refused`` expects the fire to be
    refused (true, or the error's name or a fragment of its message)."""

    fire: str | None = None
    actor: str | None = None
    payload: dict[str, Any] = {}
    reason: str | None = None
    wait: str | None = None
    refused: bool | str | None = None
    expect: ExpectModel | None = None

    @model_validator(mode="after")
    def _one_action(self) -> StepModel:
        if self.fire is not None and self.wait is not None:
            raise ValueError("a step has at most one of: fire, wait")
        if self.fire is None and self.wait is None and self.expect is None:
            raise ValueError("a step has fire, wait or expect")
        if self.fire is not None and self.actor is None:
            raise ValueError("fire needs an actor")
        if self.refused is not None and self.fire is None:
            raise ValueError("refused goes with fire")
        if self.wait is not None:
            parse_duration(self.wait)
        return self


class ScenarioModel(_Strict):
    name: Annotated[str, Field(min_length=1)]
    start: StartModel
    expect: ExpectModel | None = None
    steps: list[StepModel] = []


class ScenarioFileModel(_Strict):
    definitions: Annotated[list[str], Field(min_length=1)]
    clock: datetime | None = None
    actors: dict[str, ActorModel] = {}
    scenarios: Annotated[list[ScenarioModel], Field(min_length=1)]

    @model_validator(mode="after")
    def _aware(self) -> ScenarioFileModel:
        if self.clock is not None and self.clock.tzinfo is None:
            raise ValueError("clock must carry a time zone offset")
        return self


@dataclass(frozen=True)
class ScenarioReport:
    """What one scenario file gave: the names of the scenarios that passed, the failures."""

    file: str
    passed: tuple[str, ...]
    failures: tuple[DefinitionIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


class _Failed(Exception):
    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.path = path


def read_scenarios(path: str | Path) -> tuple[ScenarioFileModel, Marks]:
    """Parse and check a scenario file; its problems raise :class:`DefinitionError`."""
    filename = str(path)
    data, marks = read_yaml(read_file(path), filename)
    if not isinstance(data, dict):
        raise DefinitionError(
            [DefinitionIssue(filename, 1, "", _("a scenario file is a mapping"))]
        )
    try:
        return ScenarioFileModel.model_validate(data), marks
    except ValidationError as exc:
        raise DefinitionError(schema_issues(exc, marks, filename, data)) from None


def run_scenarios(path: str | Path, *, registry: Registry | None = None) -> ScenarioReport:
    """Run every scenario of the file at ``path`` on temporary databases; nothing else is
    touched. Raises :class:`DefinitionError` for a bad scenario file or definition."""
    filename = str(path)
    spec, marks = read_scenarios(path)
    base = Path(path).parent
    start = spec.clock or DEFAULT_START
    passed: list[str] = []
    failures: list[DefinitionIssue] = []
    with tempfile.TemporaryDirectory(prefix="workflow-scenarios-") as work:
        template = Path(work) / "template.db"
        with _engine(template, start, registry) as engine:
            for name in spec.definitions:
                engine.deploy(base / name, actor="scenarios")
            for actor_id, actor in spec.actors.items():
                engine.add_actor(actor_id, actor.roles, unit=actor.unit, by="scenarios")
        for index, scenario in enumerate(spec.scenarios):
            copy = Path(work) / f"scenario-{index}.db"
            shutil.copyfile(template, copy)
            with _engine(copy, start, registry) as engine:
                try:
                    _run_one(engine, spec, scenario, ("scenarios", index))
                    passed.append(scenario.name)
                except _Failed as failed:
                    failures.append(
                        DefinitionIssue(
                            filename,
                            marks.line_of(failed.path),
                            dotted(failed.path),
                            f"{scenario.name}: {failed}",
                        )
                    )
            copy.unlink()
    return ScenarioReport(filename, tuple(passed), tuple(failures))


@contextmanager
def _engine(path: Path, start: datetime, registry: Registry | None) -> Iterator[Engine]:
    clock = FrozenClock(start)
    with Engine.open(
        f"sqlite:///{path}", clock=clock, registry=registry, keys_from_environment=False
    ) as engine:
        yield engine


SYSTEM = "system"
"""The actor name that means the engine itself (what a directive's import or a timer acts as):
for workflows whose ``start_roles`` are ``[system]``."""


def _actor(engine: Engine, spec: ScenarioFileModel, name: str, where: KeyPath) -> Actor:
    actor = spec.actors.get(name)
    if actor is None and name == SYSTEM:
        return Actor.system()
    if actor is None:
        raise _Failed(where, _("actor {name!r} is not listed under actors", name=name))
    return Actor(name, actor.roles, actor.unit)


def _run_one(
    engine: Engine, spec: ScenarioFileModel, scenario: ScenarioModel, path: KeyPath
) -> None:
    start = scenario.start
    try:
        started = engine.start(
            start.workflow,
            _actor(engine, spec, start.actor, (*path, "start", "actor")),
            data=start.data,
            unit=start.unit,
            coordinating_units=start.coordinating_units,
        )
    except WorkflowError as exc:
        raise _Failed(
            (*path, "start"), _("the start was refused: {why}", why=_first_line(exc))
        ) from None
    instance_id = started.instance.id
    if scenario.expect is not None:
        _check(engine, instance_id, scenario.expect, (*path, "expect"))
    for index, step in enumerate(scenario.steps):
        here: KeyPath = (*path, "steps", index)
        if step.fire is not None:
            _fire(engine, spec, instance_id, step, here)
        elif step.wait is not None:
            clock = engine.clock
            assert isinstance(clock, FrozenClock)
            clock.advance(parse_duration(step.wait))
            drain_due_timers(engine, worker_id="scenarios")
        if step.expect is not None:
            _check(engine, instance_id, step.expect, (*here, "expect"))
    verified = engine.verify()
    if not verified.ok:
        raise _Failed(
            path, _("audit verify refuses the run: {problem}", problem=verified.problems[0])
        )


def _fire(
    engine: Engine, spec: ScenarioFileModel, instance_id: int, step: StepModel, here: KeyPath
) -> None:
    assert step.fire is not None
    assert step.actor is not None
    actor = _actor(engine, spec, step.actor, (*here, "actor"))
    before = engine.get(instance_id).state
    try:
        with use_language("en"):  # a refused: "text" matches the same text in any language
            result = engine.fire(
                instance_id, step.fire, actor, payload=step.payload, reason=step.reason
            )
    except WorkflowError as exc:
        if step.refused is None or step.refused is False:
            raise _Failed(
                here, _("{trigger!r} was refused: {why}", trigger=step.fire, why=_first_line(exc))
            ) from None
        if isinstance(step.refused, str) and not _matches(exc, step.refused):
            raise _Failed(
                (*here, "refused"),
                _(
                    "{trigger!r} was refused, but not as expected ({expected!r}): {error}: {why}",
                    trigger=step.fire,
                    expected=step.refused,
                    error=type(exc).__name__,
                    why=_first_line(exc),
                ),
            ) from None
        return
    if step.refused not in (None, False):
        raise _Failed(
            (*here, "refused"),
            _(
                "expected {trigger!r} to be refused, but it moved {before} -> {after}",
                trigger=step.fire,
                before=before,
                after=result.state,
            ),
        )


def _matches(exc: WorkflowError, expected: str) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return expected in names or expected.lower() in str(exc).lower()


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _check(engine: Engine, instance_id: int, expect: ExpectModel, here: KeyPath) -> None:
    instance = engine.get(instance_id)
    checks: tuple[tuple[str, object, object], ...] = (
        ("state", expect.state, instance.state),
        ("active", expect.active, instance.active),
    )
    for key, wanted, found in checks:
        if wanted is not None and found != wanted:
            raise _Failed(
                (*here, key),
                _("expected {key} {expected!r}, found {found!r}", key=key, expected=wanted,
                  found=found),
            )  # fmt: skip
    if expect.overdue is not None:
        listed = any(
            i.id == instance_id
            for i in due_instances(engine, overdue=True, workflow=instance.workflow, limit=10_000)
        )
        if listed != expect.overdue:
            due = instance.due_at.isoformat() if instance.due_at else _("none")
            raise _Failed(
                (*here, "overdue"),
                _(
                    "expected overdue {expected}, found {found} (due {due}, now {now})",
                    expected=expect.overdue,
                    found=listed,
                    due=due,
                    now=engine.now().isoformat(),
                ),
            )
    for name, wanted in (expect.data or {}).items():
        found = instance.data.get(name)
        if not _same(found, wanted):
            raise _Failed(
                (*here, "data", name),
                _(
                    "expected {field} = {expected!r}, found {found!r}",
                    field=name,
                    expected=wanted,
                    found=found,
                ),
            )


def _same(found: object, wanted: object) -> bool:
    if isinstance(wanted, bool) or isinstance(found, bool):
        return found is wanted
    if isinstance(wanted, Mapping) and isinstance(found, Mapping):
        return found.keys() == wanted.keys() and all(_same(found[k], wanted[k]) for k in wanted)
    if isinstance(wanted, list) and isinstance(found, list):
        return len(found) == len(wanted) and all(
            _same(f, w) for f, w in zip(found, wanted, strict=True)
        )
    return found == wanted
