"""``workflow audit``: verify the hash chains."""

from __future__ import annotations

import click

from cli.context import State, json_option, pass_state


@click.group("audit")
def group() -> None:
    """Read and verify the append-only, hash-chained audit log."""


@group.command("verify")
@click.option("--instance", "instance_id", type=int, help="Verify one instance's chain only.")
@json_option
@pass_state
def verify(state: State, instance_id: int | None, as_json: bool) -> None:
    """Walk every chain; exit code 3 names the first broken link of each bad chain.

    \b
    Example:
      workflow audit verify
    """
    from cli.output import emit_json
    from workflow import AuditError

    report = state.engine().verify(instance_id)
    if as_json:
        emit_json(
            {
                "ok": report.ok,
                "chains": report.chains,
                "events": report.events,
                "problems": [
                    {"instance_id": p.instance_id, "seq": p.seq, "problem": p.problem}
                    for p in report.problems
                ],
            }
        )
    else:
        for problem in report.problems:
            click.echo(f"BROKEN {problem}")
        status = "ok" if report.ok else "TAMPERED"
        click.echo(f"{status}: {report.chains} chains, {report.events} events verified")
    if not report.ok:
        raise AuditError(report.problems)
