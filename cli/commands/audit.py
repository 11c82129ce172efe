"""``workflow audit``: verify the hash chains, search, export, checkpoint, administrators' log."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..context import ROW_ID, State, json_option, limit_option, pass_state
from ..context import state as root_state
from ..options import since_option, until_option

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
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    instance_id: int | None,
    export_file: str | None,
    checkpoint_file: str | None,
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

    from ..output import emit_json, paint

    checkpoint = None
    if checkpoint_file:
        with open(checkpoint_file, encoding="utf-8") as handle:
            checkpoint = read_checkpoint(handle, _key(), checkpoint_file)
    if export_file:
        result = _verify_file(export_file, checkpoint, instance_id)
    else:
        result = _verify_database(root_state(ctx), checkpoint, instance_id)
    if as_json:
        emit_json(result.as_dict())
    else:
        for problem in result.problems:
            click.echo(f"{paint('BROKEN', 'red')} {problem}")
        status = paint("ok", "green") if result.ok else paint("TAMPERED", "red")
        extra = (
            f", {result.partial_chains} partial (filtered export)" if result.partial_chains else ""
        )
        if checkpoint is not None:
            signed = "signed" if result.checkpoint_signed else "unsigned"
            extra += f"; {result.checkpoint_chains} chains checked against the {signed} checkpoint"
        if result.admin_events is not None:
            extra += f"; administrators' log: {result.admin_events} events"
        if result.keys:
            extra += f"; {result.keyed_events} keyed (MAC checked)"
            if result.unkeyed_events:
                extra += f", {result.unkeyed_events} unkeyed (written before a key)"
        click.echo(f"{status}: {result.chains} chains, {result.events} events verified{extra}")
    if not result.ok:
        raise AuditError(result.problems)


def _verify_database(state: State, checkpoint: Any, instance_id: int | None) -> Any:
    from workflow.auditing import AuditFilter, count_audit_rows, verify_database

    from ..output import progress_callback

    engine = state.engine()
    total = count_audit_rows(engine, AuditFilter(instance_id=instance_id)) if _tty() else None
    with progress_callback(total, "verifying") as moved:
        return verify_database(
            engine, checkpoint=checkpoint, instance_id=instance_id, progress=moved
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


def _filter(**values: Any) -> Any:
    from workflow.auditing import AuditFilter

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
    help=f"At most N events (up to {MAX_SEARCH_LIMIT:,}; `audit export` streams them all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one event per line.")
@pass_state
def search(state: State, /, limit: int, as_json: bool, **filters: Any) -> None:
    """Find audit events across instances by actor, trigger and time range, oldest first.

    \b
    Examples:
      workflow audit search --actor alice --since 2024-05-01 --until 2024-05-31T23:59:59Z
      workflow audit search --trigger approve --json | jq .instance_id
    """
    from workflow.auditing import count_audit_rows, search_audit

    from ..output import cut_short, emit_jsonl, table

    flt = _filter(**filters)
    events = search_audit(state.engine(), flt, limit=limit)
    if as_json:
        shown = 0
        for event in events:
            emit_jsonl(_event_record(event))
            shown += 1
        cut_short(shown, count_audit_rows(state.engine(), flt) if shown == limit else shown)
        return
    rows = list(events)
    table(
        ["when", "instance", "seq", "actor", "roles", "trigger", "from", "to", "reason"],
        [
            [
                e.occurred_at,
                e.instance_id,
                e.seq,
                e.actor,
                ",".join(e.actor_roles),
                e.trigger or e.kind,
                e.from_state,
                e.to_state,
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
@click.option(
    "--zone",
    default="Asia/Ho_Chi_Minh",
    show_default=True,
    help="The time zone of an xlsx workbook's date cells.",
)
@pass_state
def export(
    state: State, /, fmt: str, output: str, bom: bool | None, zone: str, **filters: Any
) -> None:
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
    from workflow.i18n import language

    from ..output import binary_output_file, output_file, progress

    engine = state.engine()
    flt = _filter(**filters)
    # An export of everything carries the administrators' log too (to verify offline in JSONL).
    whole = not flt.as_dict()
    if fmt == "xlsx":
        _check_zone(zone)
        if output == "-" and sys.stdout.isatty():
            raise click.UsageError("an xlsx workbook is not for a terminal: give -o FILE")
    total = count_audit_rows(engine, flt) if _tty() and output != "-" else None
    with progress(audit_rows(engine, flt), total, "exporting") as rows:
        if fmt == "xlsx":
            with binary_output_file(output) as binary:
                admin = admin_log_records(engine) if whole else None
                count = write_audit_xlsx(rows, binary, zone, admin)
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
        click.echo(f"exported {count} events to {output}", err=True)


def _check_zone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from workflow.i18n import _

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            _("{name!r} is not an IANA time zone (e.g. Asia/Ho_Chi_Minh)", name=name),
            param_hint="--zone",
        ) from None


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
    how = "signed with HMAC-SHA256" if key else f"unsigned (set {KEY_ENV} to sign it)"
    click.echo(
        f"checkpoint of {summary['chains']} chains ({summary['events']} events) written to "
        f"{output}, {how}",
        err=output == "-",
    )


@group.command("admin-log")
@limit_option("administrative changes")
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
        ["seq", "when", "actor", "action", "subject", "detail"],
        [
            [e.seq, e.occurred_at, e.actor, e.action, e.subject, json.dumps(e.detail)[:80]]
            for e in events
        ],
    )
