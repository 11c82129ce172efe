"""What every command shares through ``ctx.obj``: the database URL and a lazily opened engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from workflow.i18n import N_

if TYPE_CHECKING:
    from workflow import Actor, DatabaseOptions, Engine


@dataclass
class State:
    db_url: str
    functions: tuple[str, ...] = ()
    _engine: Engine | None = field(default=None, repr=False)
    _functions_loaded: bool = field(default=False, repr=False)

    def load_functions(self) -> None:
        """Register the guard and effect functions (--functions modules, then the entry points
        of the group workflow.functions), once, before anything reads a definition."""
        if not self._functions_loaded:
            from workflow import load_functions

            load_functions(self.functions)
            self._functions_loaded = True

    def engine(
        self,
        *,
        check_schema: bool = True,
        create: bool = False,
        options: DatabaseOptions | None = None,
    ) -> Engine:
        """The engine, opened on first use. Only commands meant to create a database (a first
        write, ``db upgrade``) pass ``create``: every other one refuses a missing SQLite file.
        ``options``: the connection's (``serve``: the service's pool)."""
        from workflow import Engine

        if self._engine is None:
            self.load_functions()
            self._engine = Engine.open(
                self.db_url, check_schema=check_schema, create=create, options=options
            )
        return self._engine

    def actor(self, actor_id: str) -> Actor:
        """The registered actor with its roles and unit (the CLI trusts the registry)."""
        return self.engine().actor(actor_id)

    def directive_zone(self, directive_id: int | None) -> str | None:
        """The time zone of the directive ``directive_id`` (None: no directive, or unknown)."""
        if directive_id is None:
            return None
        from workflow.directives import list_directives

        found = (d.timezone for d in list_directives(self.engine()) if d.id == directive_id)
        return next(found, None)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def state(ctx: click.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


pass_state = click.make_pass_decorator(State)

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")

codes_option = click.option(
    "--codes",
    is_flag=True,
    help="Show states, triggers and statuses by their codes, not their labels.",
)


F = TypeVar("F", bound=Callable[..., Any])

ROW_ID = click.IntRange(1, 2**63 - 1)
"""An id option or argument: what a database key (BIGINT) can hold; past it, a usage error."""


def limit_option(help_text: str) -> Callable[[F], F]:
    """``--limit N``: at most N rows of a list command (1..10,000, default 100); ``help_text``
    says of what, marked for the catalogue (``N_("At most N timers.")``)."""
    return click.option(
        "--limit",
        type=click.IntRange(1, 10_000),
        default=100,
        show_default=True,
        help=help_text,
    )


def by_option(help_text: str = N_("Who acts (audited).")) -> Callable[[F], F]:
    """``--by NAME``: who does an administrative action, recorded in the administrators' log;
    ``help_text`` is marked for the catalogue (``N_("Who deploys (audited).")``)."""
    return click.option("--by", default="admin", show_default=True, help=help_text)


actor_option = click.option(
    "--actor",
    "actor_id",
    required=True,
    metavar="ID",
    help="A registered actor (see `workflow actors add`).",
)
