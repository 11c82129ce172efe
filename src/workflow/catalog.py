"""The deployed definitions: versions by content hash, and one compiled machine per version."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow._machine import CompiledMachine
from workflow.definition import model as m
from workflow.errors import (
    DefinitionError,
    DefinitionIssue,
    DefinitionTampered,
    InvalidInput,
    NotFound,
    WorkflowError,
)
from workflow.hashchain.encoding import canonical_json
from workflow.records import DeployedDefinition, DeployResult
from workflow.registry import Registry, default_registry
from workflow.store import Connection, chain_writer
from workflow.store import repository as repo

if TYPE_CHECKING:
    from workflow.definition.validate import Names

# The definition pipeline (YAML, pydantic) is imported where a source is read, not here: a process
# that only fires on versions it has compiled, or is handed, never pays for it.


def content_hash(source: bytes | str, filename: str = "<string>") -> str:
    """SHA-256 of a definition's meaning (its parsed content), blind to comments and layout."""
    from workflow.definition.yamlsafe import read_yaml

    data, _ = read_yaml(source, filename)
    return _digest(data)


def document_hash(data: object) -> str:
    """The content hash of a definition document already parsed (see :func:`content_hash`)."""
    return _digest(data)


def _digest(data: object) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def check_stored_source(workflow: str, version: int, source_text: str, digest: str) -> object:
    """The parsed stored source, or :class:`~workflow.errors.DefinitionTampered` when it no
    longer hashes to ``digest``, the content hash recorded at deploy."""
    from workflow.definition.yamlsafe import read_yaml

    try:
        data, _ = read_yaml(source_text, f"{workflow}@{version}")
    except WorkflowError:
        raise DefinitionTampered(workflow, version, digest, "unreadable source") from None
    found = _digest(data)
    if found != digest:
        raise DefinitionTampered(workflow, version, digest, found)
    return data


def source_digest(workflow: str, version: int, source_text: str) -> str:
    """The content hash of a stored source, or ``"unreadable"``."""
    try:
        return content_hash(source_text, f"{workflow}@{version}")
    except WorkflowError:
        return "unreadable"


def stored_definition(
    source_text: str, source_file: str, digest: str, names: Names, *, at: str = "<stored>"
) -> m.Definition:
    """A deployed version rebuilt from its stored source, as the pipeline would build it.

    The source passed the whole pipeline at deploy; a source that no longer hashes to the
    content hash checked then was edited in the database, and is refused
    (:class:`~workflow.errors.DefinitionTampered`, ``at`` naming it), never run. It is rebuilt
    without the schema (no pydantic: a one-shot `workflow fire` starts faster) and only the
    check that depends on this process runs again (its registry has every guard and effect
    function named); the graph checks held for this content at deploy. Otherwise (a value only
    the schema reads, any finding) the whole pipeline runs, and reports exactly what it reports
    for a new file.
    """
    from workflow.definition.validate import unregistered

    workflow, _, version = at.rpartition("@")
    number = int(version) if version.isdigit() else 0
    data = check_stored_source(workflow, number, source_text, digest)
    if isinstance(data, dict):
        definition = _built(data, source_text, source_file)
        if definition is not None and not any(True for _ in unregistered(definition, names)):
            return definition
    from workflow.definition.loader import load_text

    return load_text(source_text, source_file, names=names)


def _built(data: dict[str, object], source_text: str, source_file: str) -> m.Definition | None:
    from workflow.definition.build import to_definition

    try:
        return to_definition(data, source_text, source_file)
    except Exception:  # whatever the builder cannot read, the pipeline reports
        return None


def compile_machine(definition: m.Definition, registry: Registry) -> CompiledMachine:
    """The state machine of a validated definition; one it cannot take is a DefinitionError."""
    try:
        return CompiledMachine(definition, "", 0, registry)
    except (ValueError, AttributeError, TypeError) as exc:  # what `transitions` raises
        issue = DefinitionIssue(
            definition.source_file, None, "", f"the state machine cannot be built: {exc}"
        )
        raise DefinitionError([issue]) from exc


def validate_definition(path: str | Path, registry: Registry | None = None) -> m.Definition:
    """Load and validate a definition file without a database (guards named in ``registry``);
    the state machine is built too, so that whatever validates deploys."""
    from workflow.definition.loader import load_file
    from workflow.definition.validate import Names

    reg = registry if registry is not None else default_registry
    definition = load_file(path, names=Names(reg.guards, reg.effects))
    compile_machine(definition, reg)
    return definition


class NotCompiled(Exception):
    """A version is needed whose machine this process has not compiled yet.

    Raised inside a write transaction instead of compiling there (a large definition costs its
    CPU time, and the write lock would be held that long): the engine rolls back, compiles with
    no transaction open (:meth:`Catalog.compile_stored`), and runs the transaction again.
    """

    def __init__(self, workflow: str, row: Any) -> None:
        super().__init__(f"{workflow}@{row.version} is not compiled yet")
        self.workflow = workflow
        self.version = int(row.version)
        self.source_text = str(row.source_text)
        self.source_file = str(row.source_file)
        self.content_hash = str(row.content_hash)


class Catalog:
    """Deploys definitions and compiles each deployed version once, for every instance."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._machines: dict[tuple[str, int], CompiledMachine] = {}
        self._definitions: dict[str, m.Definition] = {}
        """By content hash: versions with the same content share their parsed definition."""
        self._lock = threading.Lock()

    @property
    def names(self) -> Names:
        from workflow.definition.validate import Names

        return Names(self.registry.guards, self.registry.effects)

    def deploy(
        self,
        conn: Connection,
        definition: m.Definition,
        raw: bytes,
        digest: str,
        filename: str,
        actor: str,
        now: datetime,
    ) -> DeployResult:
        """A new version when the content (hashed to ``digest``, before the transaction) differs
        from the newest one; else a no-op, once the newest row's own source is read back to
        still hash to it (an edited row is refused, not vouched for). Nothing else here parses
        or compiles."""
        latest = repo.latest_definition(conn, definition.name)
        if latest is not None and latest.content_hash == digest:
            # "unchanged" only vouches for a stored row that still holds what was deployed
            check_stored_source(latest.workflow, int(latest.version), latest.source_text, digest)
            return DeployResult(definition.name, int(latest.version), digest, created=False)
        version = 1 if latest is None else int(latest.version) + 1
        repo.insert_definition(
            conn,
            {
                "workflow": definition.name,
                "version": version,
                "content_hash": digest,
                "source_text": raw.decode("utf-8"),
                "source_file": filename,
                "retired": False,
                "deployed_at": now,
                "deployed_by": actor,
            },
        )
        chain_writer.append_admin_event(
            conn,
            "deploy",
            f"{definition.name}@{version}",
            actor,
            {"content_hash": digest, "file": filename},
            now,
        )
        return DeployResult(definition.name, version, digest, created=True)

    def compile(self, definition: m.Definition) -> CompiledMachine:
        """The machine of a definition about to be deployed, built before anything is written:
        a definition the state machine library cannot take fails here, leaving no row behind."""
        return compile_machine(definition, self.registry)

    def remember(self, compiled: CompiledMachine, deployed: DeployResult) -> None:
        """Keep the machine compiled before the deploy (now committed) under its version, so its
        first instance does not parse the same source again."""
        key = (deployed.workflow, deployed.version)
        with self._lock:
            self._definitions.setdefault(deployed.content_hash, compiled.definition)
            if key not in self._machines:
                compiled.content_hash = deployed.content_hash
                compiled.version = deployed.version
                self._machines[key] = compiled

    def machine(
        self,
        conn: Connection,
        workflow: str,
        version: int | None,
        *,
        startable: bool = True,
        compile_here: bool = True,
    ) -> CompiledMachine:
        """The machine of ``workflow@version``; for None the newest (startable) version.

        With ``compile_here`` False a version not compiled yet raises :class:`NotCompiled`
        (the caller holds a write transaction) instead of being compiled on ``conn``.
        """
        if version is not None:
            # A deployed version never changes: a compiled one needs no query (the fire path).
            cached = self._machines.get((workflow, version))
            if cached is not None:
                return cached
        if version is None:
            row = repo.latest_definition(conn, workflow, include_retired=not startable)
            if row is None:
                if startable and repo.latest_definition(conn, workflow) is not None:
                    raise InvalidInput(f"every version of {workflow} is retired; deploy a new one")
                raise NotFound("deployed workflow", workflow)
            if startable:
                owner = repo.workflow_row(conn, workflow)
                if owner is not None and owner.disabled:
                    raise InvalidInput(f"workflow {workflow} is disabled")
        else:
            row = repo.definition_row(conn, workflow, version)
            if row is None:
                raise NotFound("definition", f"{workflow}@{version}")
        compiled = self._machines.get((workflow, int(row.version)))
        if compiled is not None:
            return compiled
        pending = NotCompiled(workflow, row)
        if not compile_here:
            raise pending
        return self.compile_stored(pending)

    def read_stored(self, pending: NotCompiled) -> m.Definition:
        """A stored version's definition to read (show, graph), whether or not this process
        registered the functions it names; nothing is compiled or cached."""
        from workflow.definition.validate import Names

        return stored_definition(
            pending.source_text, pending.source_file, pending.content_hash, Names.anything()
        )

    def compile_stored(self, pending: NotCompiled) -> CompiledMachine:
        """Compile a stored version once per process (its definition once per content hash)."""
        key = (pending.workflow, pending.version)
        with self._lock:
            compiled = self._machines.get(key)
            if compiled is None:
                definition = self._definitions.get(pending.content_hash)
                if definition is None:
                    definition = stored_definition(
                        pending.source_text,
                        pending.source_file,
                        pending.content_hash,
                        self.names,
                        at=f"{pending.workflow}@{pending.version}",
                    )
                    self._definitions[pending.content_hash] = definition
                compiled = CompiledMachine(
                    definition, pending.content_hash, pending.version, self.registry
                )
                self._machines[key] = compiled
        return compiled


def deployed_definitions(conn: Connection, workflow: str | None) -> list[DeployedDefinition]:
    return [
        DeployedDefinition(
            workflow=r.workflow,
            version=int(r.version),
            content_hash=r.content_hash,
            retired=bool(r.retired),
            disabled=bool(r.disabled),
            deployed_at=r.deployed_at,
            deployed_by=r.deployed_by,
            source_file=r.source_file,
            live_instances=int(r.live),
        )
        for r in repo.deployed_definitions(conn, workflow)
    ]
