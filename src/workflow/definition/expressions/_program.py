"""What a compiled expression is and what it reads: the :class:`Scope` of one evaluation, the
:class:`Program` compiling gives, a compiled operation (:data:`Node`), and the two ways an
expression fails (refused before it runs, or failing on this data).

Separate because every other module of the package speaks in these terms, and the engine's side
(the registry's guards, the effects) needs only them, not the compiler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class ExpressionProblem(Exception):
    """An expression the validator refuses (found while compiling, before anything runs)."""


class EvaluationError(Exception):
    """An expression that could not be evaluated on this data; ``missing`` names an absent
    field it needed."""

    def __init__(self, message: str, missing: str | None = None) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Scope:
    """What an expression reads: the instance's data (a bare field name, or ``data.x``), the
    call's payload (only as ``payload.x``: what the caller claims is never mistaken for what the
    instance holds), and the transition's time, actor and state."""

    data: Mapping[str, Any]
    payload: Mapping[str, Any]
    now: datetime
    actor_id: str
    actor_roles: frozenset[str]
    state: str


Evaluate = Callable[[Scope], Any]


@dataclass(frozen=True)
class Program:
    """A compiled expression: its text, its static type and the closure that evaluates it."""

    text: str
    type: str
    run: Evaluate
    fields: frozenset[str]
    """The declared fields it reads."""


Node = tuple[str, Evaluate]
