"""The definitions and actors tables against the administrators' log.

Separate from the replay because it reads the tables, not the chains: each definition row must
be what a deploy recorded, each actor row what the latest registration said.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from workflow._legal.ledger import AdminLedger
from workflow.hashchain.encoding import ADMIN_CHAIN
from workflow.hashchain.report import ChainProblem


def admin_problems(
    ledger: AdminLedger,
    definition_rows: Iterable[Any],
    actor_rows: Iterable[Any],
    stored_hash: Callable[[str, int, str], str],
) -> list[ChainProblem]:
    """The definitions and actors tables against the administrators' log: each definition row's
    source hashes to the content hash its deploy recorded; each actor row is what its latest
    registration said, and no row or registration lacks the other."""
    found: list[ChainProblem] = []
    seen: set[tuple[str, int]] = set()
    for row in definition_rows:
        key = (str(row.workflow), int(row.version))
        seen.add(key)
        deployed = ledger.deploys.get(key)
        where = f"{key[0]}@{key[1]}"
        if deployed is None:
            found.append(ChainProblem(ADMIN_CHAIN, None, f"definition {where} was never deployed"))
            continue
        recorded, seq = deployed
        actual = stored_hash(key[0], key[1], row.source_text)
        if actual != recorded or row.content_hash != recorded:
            found.append(
                ChainProblem(
                    ADMIN_CHAIN,
                    seq,
                    f"the stored definition {where} no longer hashes to the content hash this "
                    "deploy recorded (its row was edited)",
                )
            )
    for key, (_, seq) in sorted(ledger.deploys.items(), key=lambda kv: kv[1][1]):
        if key not in seen:
            found.append(
                ChainProblem(ADMIN_CHAIN, seq, f"deployed {key[0]}@{key[1]} has no definition row")
            )
    registered = {name: regs[-1] for name, regs in ledger.registrations.items()}
    for row in actor_rows:
        latest = registered.pop(str(row.id), None)
        if latest is None:
            found.append(ChainProblem(ADMIN_CHAIN, None, f"actor {row.id!r} is in no registration"))
        elif frozenset(row.roles or ()) != latest.roles or row.unit != latest.unit:
            found.append(
                ChainProblem(
                    ADMIN_CHAIN,
                    ledger.last_actor_event[str(row.id)],
                    f"the actors row of {row.id!r} is not what this registration recorded "
                    "(the row was edited)",
                )
            )
    for name in registered:
        found.append(
            ChainProblem(
                ADMIN_CHAIN, ledger.last_actor_event[name], f"actor {name!r} has no actors row"
            )
        )
    return found
