"""Each deployed version as the replay trusts it: deployed per the administrators' log, its
stored source still hashing to the content hash that deploy recorded, compiled on first use.

Separate because it is where the replay meets the catalogue and the definitions table; the replay
itself only asks for a version's :class:`Rules`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workflow._legal.ledger import AdminLedger
from workflow.catalog import Catalog, NotCompiled, check_stored_source
from workflow.definition import model as m
from workflow.errors import DefinitionTampered
from workflow.store import Connection
from workflow.store import repository as repo


@dataclass(frozen=True)
class Rules:
    """One deployed version as the replay reads it; ``problem`` when it cannot be trusted."""

    definition: m.Definition | None
    content_hash: str
    problem: str = ""


RulesLookup = Callable[[str, int], Rules]


def rules_lookup(conn: Connection, catalog: Catalog, ledger: AdminLedger) -> RulesLookup:
    """The deployed versions as the replay trusts them: deployed per the administrators' log,
    the stored source still hashing to the content hash that deploy recorded. The definitions
    rows are read now (the chains are then streamed on the same connection, which takes no
    other statement meanwhile); each version is compiled when a chain first needs it."""
    rows = {(str(r.workflow), int(r.version)): r for r in repo.deployed_definitions(conn)}

    def rules(workflow: str, version: int) -> Rules:
        where = f"{workflow}@{version}"
        deployed = ledger.deploys.get((workflow, version))
        if deployed is None:
            return Rules(None, "", f"is pinned to {where}, which no deploy recorded")
        recorded = deployed[0]
        row = rows.get((workflow, version))
        if row is None:
            return Rules(None, recorded, f"is pinned to {where}, whose definition row is gone")
        try:
            check_stored_source(workflow, version, row.source_text, recorded)
            compiled = catalog.compile_stored(NotCompiled(workflow, row))
        except DefinitionTampered:
            return Rules(None, recorded, f"is pinned to {where}, whose stored source was edited")
        return Rules(compiled.definition, recorded)

    return rules
