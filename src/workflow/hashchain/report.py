"""What a verification finds: the first broken link of a chain, and the report of a whole walk.

Separate from the walks themselves because every verifier (the instances' chains, the
administrators' log, the MAC check, the replay of each chain as a legal run) reports in these
terms, and the auditing features read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workflow.hashchain.encoding import ADMIN_CHAIN


@dataclass(frozen=True)
class ChainProblem:
    """The first broken link of one chain."""

    instance_id: int
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event {self.seq}" if self.seq is not None else "instance row"
        if self.instance_id == ADMIN_CHAIN:
            if self.seq is None:
                return f"administrators' log: {self.problem}"
            return f"administrators' log, {where}: {self.problem}"
        return f"instance {self.instance_id}, {where}: {self.problem}"


def first_per_chain(problems: Iterable[ChainProblem]) -> list[ChainProblem]:
    """The earliest problem of each chain (an event before the instance row), by chain."""
    first: dict[int, ChainProblem] = {}
    for problem in problems:
        held = first.get(problem.instance_id)
        if held is None or _rank(problem) < _rank(held):
            first[problem.instance_id] = problem
    return [first[i] for i in sorted(first, key=_chain_order)]


def _chain_order(instance_id: Any) -> tuple[bool, Any]:
    """By id; an id that is no integer (edited into SQLite, which keeps any value) after them."""
    number = type(instance_id) is int
    return (not number, instance_id if number else str(instance_id))


def _rank(problem: ChainProblem) -> float:
    return float("inf") if problem.seq is None else problem.seq


@dataclass
class VerificationReport:
    chains: int = 0
    events: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    admin_events: int | None = None
    """Events of the administrators' log verified (None: not looked at)."""
    keyed_events: int = 0
    """Events (both logs) whose MAC was checked against the audit keys."""
    unkeyed_events: int = 0
    """Events without a MAC (written before a key existed): never counted as keyed."""
    processes: int = 1
    """Processes that walked the chains (a large SQLite log is split: :meth:`Engine.verify`)."""

    @property
    def ok(self) -> bool:
        return not self.problems
