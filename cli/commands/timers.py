"""Timers: run the worker (once, or until SIGINT/SIGTERM) and list timer rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from workflow.i18n import N_

if TYPE_CHECKING:
    import threading
    from types import FrameType

    from workflow import Engine

from ..context import ROW_ID, State, json_option, limit_option, pass_state
from ..options import tz_option
from ..queues import lease_option, retried, retry_options, worker_id_option

STATUSES = ("pending", "leased", "fired", "cancelled", "dead")


@click.group("timers")
def group() -> None:
    """Durable deadlines and reminders: fire due timers, list timer rows."""


@group.command("run")
@click.option("--once", is_flag=True, help="Fire every timer due now, then exit.")
@click.option(
    "--now",
    "now_text",
    metavar="ISO",
    help="With --once, on a simulation database only (db mark-simulation): the moment to run "
    "at, with an offset (2020-09-15T08:00:00+07:00).",
)
@worker_id_option
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Timers claimed per pass.",
)
@lease_option
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.01, 3600),
    default=1.0,
    show_default=True,
    help="Seconds to wait when nothing is due.",
)
@json_option
@pass_state
def run(
    state: State,
    once: bool,
    now_text: str | None,
    worker_id: str | None,
    batch: int,
    lease: timedelta,
    poll_interval: float,
    as_json: bool,
) -> None:
    """Fire due timers as system:timer, each exactly once.

    Without --once the worker polls until SIGINT or SIGTERM, then finishes the timer in hand,
    hands back the rest of its claim and exits 0. Several workers may run at once.

    \b
    Example:
      workflow timers run --once --now 2020-09-15T08:00:00+07:00
      workflow timers run --worker-id w1 --poll-interval 5
    """
    import threading

    from workflow import parse_instant
    from workflow.admin import require_simulation
    from workflow.timers import drain_due_timers, run_worker

    if now_text is not None and not once:
        from workflow.i18n import _

        raise click.UsageError(
            _("--now goes with --once (a polling worker follows the real clock)")
        )
    now = None if now_text is None else parse_instant(now_text, "--now")
    engine = state.engine()
    if now is not None:
        require_simulation(engine, "--now", "`workflow db mark-simulation`")
    stop = threading.Event()
    restore = _stop_on_signals(stop)
    try:
        if once:
            total = drain_due_timers(
                engine,
                now=now,
                worker_id=worker_id,
                batch=batch,
                lease=lease,
                stop=stop,
            )
        else:
            from workflow.i18n import _

            click.echo(_("timer worker running; SIGINT or SIGTERM stops it"), err=True)
            total = run_worker(
                engine, stop, poll_interval, worker_id=worker_id, batch=batch, lease=lease
            )
    finally:
        restore()
    if as_json:
        from ..output import emit_json

        emit_json(asdict(total))
        return
    from workflow.i18n import _

    click.echo(
        _(
            "fired {fired}, dead {dead}, skipped {skipped}, handed back {released} "
            "(claimed {claimed})",
            fired=total.fired,
            dead=total.dead,
            skipped=total.skipped,
            released=total.released,
            claimed=total.claimed,
        )
    )


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGINT/SIGTERM set ``stop`` (finish the timer in hand); a second SIGINT interrupts."""
    import signal

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signum, previous[signal.Signals(signum)])

    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


@group.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only timers with this status.")
@click.option("--instance", "instance_id", type=ROW_ID, help="Only this instance's timers.")
@limit_option(N_("At most N timers."))
@tz_option
@json_option
@pass_state
def list_(
    state: State, status: str | None, instance_id: int | None, limit: int, as_json: bool
) -> None:
    """List timer rows, soonest due first.

    \b
    Example:
      workflow timers list --status pending --json
    """
    from workflow.timers import list_timers

    from ..output import emit_json, table

    rows = list_timers(state.engine(), status=status, instance_id=instance_id, limit=limit)
    if as_json:
        emit_json([asdict(t) for t in rows])
        return
    from workflow.i18n import _

    from ..options import timed

    table(
        [
            _("id"),
            _("instance"),
            _("workflow"),
            _("state"),
            _("trigger"),
            timed(_("due")),
            _("status"),
            _("tries"),
            _("by"),
        ],
        [
            [
                t.id,
                t.instance_id,
                t.workflow,
                t.state,
                t.trigger,
                t.due_at,
                t.status,
                t.attempts,
                t.lease_owner,
            ]
            for t in rows
        ],
    )


def deadline_rows(
    engine: Engine, overdue: bool, due_within: str | None, filters: dict[str, Any], limit: int
) -> list[Any]:
    """The rows of ``workflow list --overdue`` / ``--due-within SPAN`` (one of the two)."""
    from workflow import parse_span
    from workflow.timers import due_instances

    if overdue and due_within is not None:
        from workflow.i18n import _

        raise click.UsageError(_("give --overdue or --due-within, not both"))
    within = None
    if due_within is not None:
        try:
            within = parse_span(due_within)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--due-within") from None
    return due_instances(engine, overdue=overdue, within=within, **filters, limit=limit)


@group.command("retry")
@retry_options("timer_id")
def retry(state: State, timer_id: int, by: str, as_json: bool) -> None:
    """Re-queue a dead timer (after fixing its cause): the next pass fires it.

    \b
    Example:
      workflow timers retry 17
    """
    from workflow.i18n import _
    from workflow.timers import TimerInfo, retry_timer

    def said(timer: TimerInfo) -> str:
        return _(
            "timer {id} ({trigger} on instance {instance}) is pending again",
            id=timer.id,
            trigger=timer.trigger,
            instance=timer.instance_id,
        )

    retried(state, timer_id, by, as_json, retry_timer, said)
