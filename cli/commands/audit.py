"""``workflow audit``: verify the hash chains, search, export, checkpoint, administrators' log."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from workflow.i18n import N_, _

from ..context import ROW_ID, State, codes_option, json_option, limit_option, pass_state
from ..context import state as root_state
from ..options import instant, prefer_zone, since_option, timed, tz_option, until_option, zone

KEY_ENV = "WORKFLOW_AUDIT_KEY"


@click.group("audit")
def group() -> None:
    """Search, export, checkpoint and verify the hash-chained log."""


def _key() -> bytes | None:
    """The signing key of WORKFLOW_AUDIT_KEY or WORKFLOW_AUDIT_KEY_FILE, if either is set."""
    from workflow.auditing import AuditKeys

    keys = AuditKeys.from_environment()
    return None if keys is None else keys.signing_key


@group.command("verify")
@click.option("--instance", "instance_id", type=ROW_ID, help="Verify one instance's chain only.")
@click.option(
    "--file",
    "export_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Verify an export (from `workflow audit export`) instead of the database.",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Also detect truncation and rewrites since this checkpoint.",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    help="Processes walking a large SQLite log (default: one a core, at most 4).",
)
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    instance_id: int | None,
    export_file: str | None,
    checkpoint_file: str | None,
    processes: int | None,
    as_json: bool,
) -> None:
    """Walk every chain; exit code 3 lists each broken chain with its first bad event.

    Without --file the database is read (and needed); with --file nothing but the export is.

    \b
    Examples:
      workflow audit verify
      workflow audit verify --checkpoint checkpoints/2024-05-01.json
      workflow audit verify --file audit.jsonl --checkpoint checkpoints/2024-05-01.json
    """
    from workflow import AuditError
    from workflow.auditing import read_checkpoint

    from ..output import emit_json

    checkpoint = None
    if checkpoint_file:
        with open(checkpoint_file, encoding="utf-8") as handle:
            checkpoint = read_checkpoint(handle, _key(), checkpoint_file)
    if export_file:
        result = _verify_file(export_file, checkpoint, instance_id)
    else:
        result = _verify_database(root_state(ctx), checkpoint, instance_id, processes)
    if as_json:
        emit_json(result.as_dict())
    else:
        _print_verification(result, checkpoint is not None)
    if not result.ok:
        raise AuditError(result.problems)


def _print_verification(result: Any, checkpointed: bool) -> None:
    from ..output import paint

    for problem in result.problems:
        click.echo(f"{paint(_('BROKEN'), 'red')} {problem}")
    status = paint(_("ok"), "green") if result.ok else paint(_("TAMPERED"), "red")
    extra = ""
    if result.partial_chains:
        extra += _(", {count} partial (filtered export)", count=result.partial_chains)
    if checkpointed:
        against = (
            N_("; {count} chains checked against the signed checkpoint")
            if result.checkpoint_signed
            else N_("; {count} chains checked against the unsigned checkpoint")
        )
        extra += _(against, count=result.checkpoint_chains)
    if result.admin_events is not None:
        extra += _("; administrators' log: {count} events", count=result.admin_events)
    if result.keys:
        extra += _("; {count} keyed (MAC checked)", count=result.keyed_events)
        if result.unkeyed_events:
            extra += _(", {count} unkeyed (written before a key)", count=result.unkeyed_events)
    click.echo(
        _(
            "{status}: {chains} chains, {events} events verified",
            status=status,
            chains=result.chains,
            events=result.events,
        )
        + extra
    )


def _verify_database(
    state: State, checkpoint: Any, instance_id: int | None, processes: int | None
) -> Any:
    from workflow.auditing import AuditFilter, count_audit_rows, verify_database

    from ..output import progress_callback

    engine = state.engine()
    total = count_audit_rows(engine, AuditFilter(instance_id=instance_id)) if _tty() else None
    with progress_callback(total, "verifying") as moved:
        return verify_database(
            engine,
            checkpoint=checkpoint,
            instance_id=instance_id,
            progress=moved,
            processes=processes,
        )


def _verify_file(path: str, checkpoint: Any, instance_id: int | None) -> Any:
    from workflow import InvalidInput
    from workflow.auditing import read_export, verify_admin_records, verify_log

    with open(path, encoding="utf-8", newline="") as handle:
        export = read_export(handle, path)
        filters = export.header.get("filters", {})
        only: list[int] | None = None
        if checkpoint is not None:
            if not export.header:
                raise InvalidInput(
                    "a checkpoint is checked against the database or a JSON Lines export "
                    "(its header says what was exported); this is a CSV export"
                )
            if set(filters) - {"instance_id"} or not export.whole_chains:
                raise InvalidInput(
                    "a checkpoint is checked against the database or an export of every "
                    f"chain (or of one instance); {path} was filtered by {', '.join(filters)}"
                )
            only = [int(filters["instance_id"])] if "instance_id" in filters else None
        events = export.events
        if instance_id is not None:
            events = (e for e in events if int(e["instance_id"]) == instance_id)
            only = [instance_id]
        result = verify_log(
            events, whole_chains=export.whole_chains, checkpoint=checkpoint, only=only
        )
    if export.header.get("admin_log") and instance_id is None:
        # The log's records follow the events: read now that the events have been.
        admin = verify_admin_records(export.admin, checkpoint)
        result.admin_events = admin.events
        result.problems[:0] = admin.problems
    return result


def _tty() -> bool:
    import sys

    return sys.stderr.isatty()


def _filter(state: State, **values: Any) -> Any:
    """The audit filter of the options; a bare --since/--until date is local midnight in the
    command's zone (--tz, else the --directive's, else this machine's)."""
    from workflow.auditing import AuditFilter

    prefer_zone(state.directive_zone(values.get("directive_id")))
    values.update(since=instant(values.get("since")), until=instant(values.get("until")))
    return AuditFilter(**values)


def _event_record(event: Any) -> dict[str, Any]:
    return {
        "instance_id": event.instance_id,
        "seq": event.seq,
        "occurred_at": event.occurred_at,
        "actor": event.actor,
        "actor_roles": list(event.actor_roles),
        "actor_unit": event.actor_unit,
        "kind": event.kind,
        "trigger": event.trigger,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "reason": event.reason,
        "workflow": event.workflow,
        "definition_version": event.definition_version,
        "hash": event.hash,
    }


MAX_SEARCH_LIMIT = 1_000_000


@group.command("search")
@click.option("--actor", help="Only events by this actor.")
@click.option("--trigger", help="Only events of this trigger (`start` is not a trigger).")
@since_option
@until_option
@click.option("--instance", "instance_id", type=ROW_ID, help="Only this instance.")
@click.option("--workflow", help="Only instances of this workflow.")
@click.option("--directive", "directive_id", type=ROW_ID, help="Only instances of this directive.")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_SEARCH_LIMIT),
    default=1000,
    show_default=True,
    help="At most N events (up to 1,000,000; `audit export` streams them all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one event per line.")
@tz_option
@codes_option
@pass_state
def search(state: State, /, limit: int, as_json: bool, codes: bool, **filters: Any) -> None:
    """Find audit events across instances by actor, trigger and time range, oldest first.

    \b
    Examples:
      workflow audit search --actor alice --since 2024-05-01 --until 2024-05-31T23:59:59Z
      workflow audit search --trigger approve --json | jq .instance_id
    """
    from workflow.auditing import count_audit_rows, search_audit

    from ..output import cut_short, emit_jsonl, table

    flt = _filter(state, **filters)
    events = search_audit(state.engine(), flt, limit=limit)
    if as_json:
        shown = 0
        for event in events:
            emit_jsonl(_event_record(event))
            shown += 1
        cut_short(shown, count_audit_rows(state.engine(), flt) if shown == limit else shown)
        return

    from ..labels import Labeller

    labels = Labeller(state.engine(), codes=codes)
    rows = list(events)
    table(
        [
            timed(_("when")),
            _("instance"),
            _("seq"),
            _("actor"),
            _("roles"),
            _("trigger"),
            _("from"),
            _("to"),
            _("reason"),
        ],
        [
            [
                e.occurred_at,
                e.instance_id,
                e.seq,
                e.actor,
                ",".join(e.actor_roles),
                labels.action(e),
                labels.state(e.workflow, e.definition_version, e.from_state),
                labels.state(e.workflow, e.definition_version, e.to_state),
                e.reason,
            ]
            for e in rows
        ],
    )
    shown = len(rows)
    cut_short(shown, count_audit_rows(state.engine(), flt) if shown == limit else shown)


@group.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "xlsx"]),
    default="jsonl",
    show_default=True,
    help="JSON Lines (with a header record), CSV, or an xlsx workbook to read (not to verify).",
)
@since_option
@until_option
@click.option("--instance", "instance_id", type=ROW_ID, help="Only this instance.")
@click.option("--directive", "directive_id", type=ROW_ID, help="Only instances of this directive.")
@click.option("--workflow", help="Only instances of this workflow.")
@click.option("--actor", help="Only events by this actor.")
@click.option("-o", "--output", default="-", metavar="FILE", help="Write here (default stdout).")
@click.option(
    "--bom/--no-bom",
    default=None,
    help="Start a CSV with a byte-order mark, so Excel reads it as UTF-8; verify skips it "
    "(default: on with --lang vi).",
)
@tz_option
@pass_state
def export(state: State, /, fmt: str, output: str, bom: bool | None, **filters: Any) -> None:
    """Export audit events, streaming, with what is needed to verify them offline.

    Every hashed field, each event's hash and its instance's head are exported;
    `workflow audit verify --file` checks a JSON Lines or CSV export without the database.
    An xlsx workbook (one sheet of events, and of the administrators' log when nothing is
    filtered) is written in constant memory, for people to read. Text cells that a spreadsheet
    would run as formulas are neutralised in CSV and xlsx, and read back exactly by verify.

    \b
    Examples:
      workflow audit export -o audit.jsonl
      workflow audit export --format csv --since 2024-01-01 --actor alice -o alice.csv
      workflow audit export --format xlsx -o nhat-ky.xlsx
    """
    from workflow.auditing import (
        admin_log_records,
        audit_rows,
        count_audit_rows,
        export_header,
        write_audit_csv,
        write_audit_jsonl,
        write_audit_xlsx,
    )
    from workflow.i18n import language, zone_name

    from ..output import binary_output_file, output_file, progress

    engine = state.engine()
    flt = _filter(state, **filters)
    # An export of everything carries the administrators' log too (to verify offline in JSONL).
    whole = not flt.as_dict()
    if fmt == "xlsx" and output == "-" and sys.stdout.isatty():
        raise click.UsageError(_("an xlsx workbook is not for a terminal: give -o FILE"))
    total = count_audit_rows(engine, flt) if _tty() and output != "-" else None
    with progress(audit_rows(engine, flt), total, "exporting") as rows:
        if fmt == "xlsx":
            with binary_output_file(output) as binary:
                admin = admin_log_records(engine) if whole else None
                count = write_audit_xlsx(rows, binary, zone_name(zone()), admin)
        else:
            with output_file(output) as out:
                if fmt == "csv":
                    vietnamese = language() == "vi"
                    count = write_audit_csv(rows, out, bom=vietnamese if bom is None else bom)
                else:
                    header = export_header(
                        flt.as_dict(), flt.whole_chains, engine.now(), admin_log=whole
                    )
                    records = admin_log_records(engine) if whole else ()
                    count = write_audit_jsonl(rows, out, header, records)
    if output != "-":
        click.echo(_("exported {count} events to {path}", count=count, path=output), err=True)


@group.command("checkpoint")
@click.option(
    "-o", "--output", required=True, metavar="FILE", help="Where to write it (- for stdout)."
)
@json_option
@pass_state
def checkpoint(state: State, output: str, as_json: bool) -> None:
    """Write the head hash and length of every chain, to keep somewhere else.

    Signed with HMAC-SHA256 when WORKFLOW_AUDIT_KEY is set. Later,
    `workflow audit verify --checkpoint FILE` detects chains truncated or rewritten since.

    \b
    Example:
      WORKFLOW_AUDIT_KEY=... workflow audit checkpoint -o /backup/audit-$(date +%F).json
    """
    from workflow.auditing import take_checkpoint, write_checkpoint

    from ..output import emit_json, output_file

    key = _key()
    taken = take_checkpoint(state.engine())
    with output_file(output) as out:
        write_checkpoint(taken, out, key)
    # Chain 0 is the administrators' log: counted on its own, as `audit verify` does.
    instances = [c for c in taken.chains if c.instance_id != 0]
    summary = {
        "file": output,
        "created_at": taken.created_at,
        "chains": len(instances),
        "events": sum(c.length for c in instances),
        "admin_events": sum(c.length for c in taken.chains if c.instance_id == 0),
        "signed": key is not None,
    }
    if as_json:
        emit_json(summary)
        return

    how = _("signed with HMAC-SHA256") if key else _("unsigned (set {env} to sign it)", env=KEY_ENV)
    click.echo(
        _(
            "checkpoint of {chains} chains ({events} events) written to {path}, {how}",
            chains=summary["chains"],
            events=summary["events"],
            path=output,
            how=how,
        ),
        err=output == "-",
    )


@group.command("admin-log")
@limit_option(N_("At most N administrative changes."))
@tz_option
@json_option
@pass_state
def admin_log(state: State, limit: int, as_json: bool) -> None:
    """The administrators' log, newest first: deployments, retirements, migrations, retries.

    `workflow audit verify` checks its hash chain along with the instances'.

    \b
    Example:
      workflow audit admin-log --limit 20
    """
    from dataclasses import asdict

    from workflow.auditing import admin_log as read_admin_log

    from ..output import emit_json, table

    events = read_admin_log(state.engine(), limit=limit)
    if as_json:
        emit_json([asdict(e) for e in events])
        return

    table(
        [_("seq"), timed(_("when")), _("actor"), _("action"), _("subject"), _("detail")],
        [
            [e.seq, e.occurred_at, e.actor, e.action, e.subject, json.dumps(e.detail)[:80]]
            for e in events
        ],
    )
