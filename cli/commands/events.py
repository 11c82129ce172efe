"""``workflow events``: run the outbox dispatcher, list events and dead letters, retry one,
prune delivered ones."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import click

from workflow.i18n import N_

from ..context import ROW_ID, State, by_option, json_option, pass_state
from ..options import tz_option
from ..queues import lease_option, retried, retry_options, worker_id_option


@click.group("events")
def group() -> None:
    """Deliver committed transitions to sinks (JSON Lines file, signed webhook)."""


@group.command("run")
@click.option(
    "--sinks",
    "sinks_file",
    envvar="WORKFLOW_EVENT_SINKS",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sinks file (YAML or JSON); env WORKFLOW_EVENT_SINKS.",
)
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--poll", type=click.FloatRange(0.01, 3600), default=2.0, show_default=True,
    help="Seconds between passes.",
)
@click.option(
    "--batch", type=click.IntRange(1, 10_000), default=20, show_default=True,
    help="Rows leased per round.",
)
@lease_option
@click.option(
    "--max-attempts", type=click.IntRange(1, 1000), default=8, show_default=True,
    help="Failures before dead.",
)  # fmt: skip
@worker_id_option
@json_option
@pass_state
def run(
    state: State,
    sinks_file: Path,
    once: bool,
    poll: float,
    batch: int,
    lease: timedelta,
    max_attempts: int,
    worker_id: str | None,
    as_json: bool,
) -> None:
    """Deliver pending events at least once, in order per instance, retrying with backoff.

    Several dispatchers may run against one database; they must share the same sinks file.

    \b
    Example:
      workflow events run --sinks sinks.yaml --once
    """
    import signal
    import threading
    from contextlib import suppress

    from workflow.events import (
        DispatchRun,
        RetryPolicy,
        dispatch_pending,
        load_sinks,
        run_dispatcher,
    )

    from ..output import emit_json

    bus = load_sinks(sinks_file)
    engine = state.engine()
    policy = RetryPolicy(max_attempts=max_attempts)

    def show(done: DispatchRun) -> None:
        if as_json:
            emit_json(asdict(done))
        elif done.claimed or once:
            from workflow.i18n import _

            click.echo(
                _(
                    "delivered {delivered}, retrying {retrying}, dead {dead}",
                    delivered=done.delivered,
                    retrying=done.retrying,
                    dead=done.dead,
                )
                + (_(", lease lost {count}", count=done.lost) if done.lost else "")
            )

    if once:
        show(dispatch_pending(engine, bus, worker_id=worker_id, batch=batch, lease=lease,
                              policy=policy))  # fmt: skip
        return
    stop = threading.Event()
    # A service manager stops us with SIGTERM: finish the round in hand, then exit cleanly.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with suppress(KeyboardInterrupt):
        run_dispatcher(
            engine,
            bus,
            stop,
            poll,
            worker_id=worker_id,
            batch=batch,
            lease=lease,
            policy=policy,
            on_pass=show,
        )
    from workflow.i18n import _

    click.echo(_("stopped"), err=True)


@group.command("list")
@click.option("--failed", is_flag=True, help="Only dead letters (same as --status dead).")
@click.option(
    "--status", type=click.Choice(["pending", "leased", "delivered", "dead"]), help="Filter."
)
@click.option("--instance", "instance_id", type=ROW_ID, help="Only this instance's events.")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
    help="At most this many, newest first.",
)  # fmt: skip
@tz_option
@json_option
@pass_state
def list_(
    state: State,
    failed: bool,
    status: str | None,
    instance_id: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """List outbox events, newest first, with their delivery status and last error.

    \b
    Example:
      workflow events list --failed
    """
    from workflow.events import list_events

    from ..output import emit_json, table

    entries = list_events(
        state.engine(),
        status="dead" if failed else status,
        instance_id=instance_id,
        limit=limit,
    )
    if as_json:
        emit_json([asdict(e) for e in entries])
        return
    from workflow.i18n import _

    from ..options import timed

    table(
        [
            _("id"),
            _("instance"),
            _("topic"),
            _("status"),
            _("attempts"),
            timed(_("next attempt")),
            _("last error"),
        ],
        [
            [
                e.id,
                e.instance_id,
                e.topic,
                e.status,
                e.attempts,
                e.next_attempt_at if e.status == "pending" else None,
                (e.last_error or "")[:80],
            ]
            for e in entries
        ],
    )


@group.command("retry")
@retry_options("event_id")
def retry(state: State, event_id: int, by: str, as_json: bool) -> None:
    """Re-queue a dead event for delivery now, with a fresh count of attempts.

    \b
    Example:
      workflow events retry 42
    """
    from workflow.events import OutboxEntry, retry_event
    from workflow.i18n import _

    def said(entry: OutboxEntry) -> str:
        return _("event {id} ({topic}) is pending again", id=entry.id, topic=entry.topic)

    retried(state, event_id, by, as_json, retry_event, said)


@group.command("prune")
@click.option(
    "--older-than",
    "older_than",
    required=True,
    help="Delete events delivered longer ago than this span (30d, 12h, 2w).",
)
@by_option(N_("Who prunes (audited)."))
@json_option
@pass_state
def prune(state: State, older_than: str, by: str, as_json: bool) -> None:
    """Delete delivered events older than a span; pending, leased and dead ones are kept.

    The audit log keeps every transition; this only empties the delivery queue of rows whose
    work is done. The pruning is recorded in the administrators' chain.

    \b
    Example:
      workflow events prune --older-than 30d
    """
    from workflow import parse_span
    from workflow.events import prune_delivered

    from ..output import emit_json

    try:
        span = parse_span(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    engine = state.engine()
    before = engine.now() - span
    deleted = prune_delivered(engine, before=before, by=by)
    if as_json:
        emit_json({"deleted": deleted, "before": before.isoformat()})
    else:
        from workflow.i18n import _

        click.echo(
            _(
                "deleted {count} delivered event(s) older than {moment}",
                count=deleted,
                moment=before.isoformat(),
            )
        )
