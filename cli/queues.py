"""What ``workflow timers`` and ``workflow events`` share: both run a worker over a lease queue
(its name and its lease are the same options) and re-queue a dead row the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from workflow.i18n import N_

from .context import ROW_ID, State, by_option, json_option, pass_state

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from workflow import Engine

F = TypeVar("F", bound=Callable[..., Any])
Row = TypeVar("Row", bound="DataclassInstance")
Row_co = TypeVar("Row_co", bound="DataclassInstance", covariant=True)


class Requeue(Protocol[Row_co]):
    """A library verb that re-queues a dead row: ``retry_timer``, ``retry_event``."""

    def __call__(self, engine: Engine, row_id: int, /, *, by: str) -> Row_co: ...


LONGEST_LEASE = timedelta(weeks=1)

worker_id_option = click.option(
    "--worker-id", help="Name of this worker in claims (default host:pid:random)."
)


def _lease(_ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    from workflow import parse_span

    try:
        # a bare number is seconds, as `events run --lease 300` always took it
        span = parse_span(f"{value}s" if value.isdigit() else value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None
    if span > LONGEST_LEASE:
        from workflow.i18n import _

        raise click.BadParameter(_("a lease is at most a week"), param=param)
    return span


lease_option = click.option(
    "--lease",
    default="5m",
    show_default=True,
    callback=_lease,
    help="How long a claim is held before another worker may take it (30s, 5m, PT5M).",
)
"""``--lease``: a span (a bare number is seconds), at most a week; the library's default."""


def retry_options(argument: str) -> Callable[[F], F]:
    """The id ``argument``, ``--by`` and ``--json`` of each queue's ``retry`` command; the
    command's body is one call of :func:`retried`."""

    def decorate(function: F) -> F:
        options: list[Callable[[Any], Any]] = [
            click.argument(argument, type=ROW_ID),
            by_option(N_("Who re-queues it (audited).")),
            json_option,
            pass_state,
        ]
        decorated: Any = function
        for option in reversed(options):
            decorated = option(decorated)
        return decorated  # type: ignore[no-any-return]

    return decorate


def retried(
    state: State,
    row_id: int,
    by: str,
    as_json: bool,
    verb: Requeue[Row],
    said: Callable[[Row], str],
) -> None:
    """Re-queue a dead row with ``verb`` (``retry_timer``, ``retry_event``), then print the row
    as JSON or ``said(row)``."""
    row = verb(state.engine(), row_id, by=by)
    if as_json:
        from .output import emit_json

        emit_json(asdict(row))
    else:
        click.echo(said(row))
