"""One pass over the audit log (from the database or an export) checking chains and checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflow.auditing.admin_log import verify_admin_log
from workflow.auditing.checkpoints import (
    Checkpoint,
    CheckpointCheck,
    current_definitions,
    definition_problems,
)
from workflow.auditing.export import verify_events
from workflow.engine import Engine
from workflow.hashchain.report import ChainProblem, first_per_chain
from workflow.hashchain.verifier import CHAIN_COLUMNS

_INSTANCE, _SEQ, _HASH = (CHAIN_COLUMNS.index(c) for c in ("instance_id", "seq", "hash"))


@dataclass
class LogVerification:
    """What a verification found; ``problems`` holds every broken chain, first bad row each."""

    chains: int = 0
    events: int = 0
    partial_chains: int = 0
    checkpoint_chains: int = 0
    checkpoint_signed: bool = False
    problems: list[ChainProblem] = field(default_factory=list)
    admin_events: int | None = None
    """Events of the administrators' log verified (None: not looked at, e.g. an export)."""
    keyed_events: int = 0
    """Events whose MAC was checked under the audit keys (0 without a key)."""
    unkeyed_events: int = 0
    """Events without a MAC, written before a key existed: never counted as keyed."""
    keys: bool = False
    """Whether the verifier held audit keys (so keyed events were checked)."""
    processes: int = 1
    """Processes that walked the chains (a large SQLite log is split: :meth:`Engine.verify`)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape of ``workflow audit verify --json``."""
        return {
            "ok": self.ok,
            "chains": self.chains,
            "events": self.events,
            "partial_chains": self.partial_chains,
            "checkpoint_chains": self.checkpoint_chains,
            "checkpoint_signed": self.checkpoint_signed,
            "admin_events": self.admin_events,
            "keys": self.keys,
            "keyed_events": self.keyed_events,
            "unkeyed_events": self.unkeyed_events,
            "processes": self.processes,
            "problems": [
                {"instance_id": p.instance_id, "seq": p.seq, "problem": p.problem}
                for p in self.problems
            ],
        }


def verify_log(
    rows: Iterable[Mapping[str, Any]],
    *,
    whole_chains: bool = True,
    checkpoint: Checkpoint | None = None,
    only: Iterable[int] | None = None,
) -> LogVerification:
    """Verify rows sorted by (instance, seq) in one streaming pass.

    ``whole_chains``: the rows hold complete chains (seq 1..n with their instance heads);
    ``checkpoint``: also check that no chain it lists was truncated or rewritten since;
    ``only``: the instances the rows were restricted to (the checkpoint's other chains are
    not looked at).
    """
    check = CheckpointCheck(checkpoint, only) if checkpoint is not None else None

    def tee() -> Iterator[Mapping[str, Any]]:
        for row in rows:
            if check is not None:
                check.feed(row)
            yield row

    chains = verify_events(tee(), whole_chains=whole_chains)
    result = LogVerification(
        chains=chains.report.chains,
        events=chains.report.events,
        partial_chains=chains.partial_chains,
        problems=list(chains.report.problems),
    )
    if check is not None and checkpoint is not None:
        result.checkpoint_chains = len(check.marks)
        result.checkpoint_signed = checkpoint.signed
        result.problems.extend(check.problems())
        result.problems.sort(key=lambda p: p.instance_id)
    return result


def verify_database(
    engine: Engine,
    *,
    checkpoint: Checkpoint | None = None,
    instance_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    processes: int | None = None,
) -> LogVerification:
    """Verify the database's log: the one verifier, whoever calls (the CLI at a terminal or
    not, a service, a test). Every chain (or one instance's) is walked once by the engine
    (:meth:`Engine.verify`: links, hashes, the replay of each chain as a legal run, the instance
    rows, the administrators' log with the definitions and actors tables), and checked against
    ``checkpoint`` on the way if one is given. ``progress`` is called with the number of events
    read so far, now and then (a progress bar's callback); ``processes``: how many may walk a
    large SQLite log (None: one a core, at most four; a checkpoint's check walks in one)."""
    only = None if instance_id is None else [instance_id]
    check = CheckpointCheck(checkpoint, only) if checkpoint is not None else None

    def observe(row: Sequence[Any]) -> None:
        assert check is not None
        check.feed({"instance_id": row[_INSTANCE], "seq": row[_SEQ], "hash": row[_HASH]})

    report = engine.verify(
        instance_id,
        observe=None if check is None else observe,
        progress=progress,
        processes=processes,
    )
    result = LogVerification(
        report.chains,
        report.events,
        problems=list(report.problems),
        admin_events=report.admin_events,
        keyed_events=report.keyed_events if engine.audit_keys is not None else 0,
        unkeyed_events=report.unkeyed_events,
        keys=engine.audit_keys is not None,
        processes=report.processes,
    )
    if check is not None and checkpoint is not None:
        result.checkpoint_chains = len(check.marks)
        result.checkpoint_signed = checkpoint.signed
        result.problems.extend(check.problems())
        if instance_id is None:
            # The checkpoint's chain 0: the administrators' log walked again, against it; and
            # the definitions table's rows it recorded.
            admin = verify_admin_log(engine, checkpoint)
            result.problems[:0] = [
                *admin.problems,
                *definition_problems(checkpoint, current_definitions(engine)),
            ]
    result.problems = first_per_chain(result.problems)
    return result
