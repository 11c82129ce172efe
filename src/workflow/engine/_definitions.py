"""Definitions: a file or text validated and deployed (parsed, validated and compiled before the
write transaction, remembered once committed), a deployed version read, the versions listed, and
the compiled machine of a version (never compiled inside a write transaction)."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from workflow._machine import CompiledMachine
from workflow.catalog import NotCompiled, deployed_definitions, document_hash
from workflow.definition import model as m
from workflow.engine._transactions import Transactions
from workflow.errors import DefinitionError, WorkflowError
from workflow.limits import check_text
from workflow.logs import get_logger
from workflow.records import DeployedDefinition, DeployResult
from workflow.store import Connection

log = get_logger("workflow")


class Definitions(Transactions):
    """Deploying and reading definitions, and their compiled machines."""

    def validate_file(self, path: str | Path) -> m.Definition:
        """Load and validate a definition file against this engine's registry."""
        from workflow.definition.loader import load_file

        return load_file(path, names=self.catalog.names)

    def deploy(self, path: str | Path, *, actor: str = "admin") -> DeployResult:
        """Deploy a definition file: a new version when its content changed, else a no-op."""
        from workflow.definition.yamlsafe import read_file

        return self._deploy(read_file(path), str(path), actor)

    def deploy_text(
        self, source: str, *, filename: str = "<string>", actor: str = "admin"
    ) -> DeployResult:
        """Deploy a definition given as text (``filename`` names it in messages)."""
        return self._deploy(source.encode("utf-8"), filename, actor)

    def _deploy(self, raw: bytes, filename: str, actor: str) -> DeployResult:
        # Parsed, validated and hashed before the write transaction: a large definition costs
        # its CPU time without holding the write lock (docs/guarantees.md).
        from workflow.definition.loader import load_document

        definition, document = load_document(raw, filename, names=self.catalog.names)
        digest = document_hash(document)
        compiled = self.catalog.compile(definition)  # before the commit: validate = deploy
        now = self.now()
        with self.transaction() as conn:
            result = self.catalog.deploy(conn, definition, raw, digest, filename, actor, now)
        if result.created:
            # only after commit: a rolled-back deploy must leave no machine behind
            self.catalog.remember(compiled, result)
            log.info("definition.deployed", workflow=result.workflow, version=result.version)
        return result

    def definition(self, workflow: str, version: int | None = None) -> m.Definition:
        """The deployed definition (the newest version unless one is named), to read: it is
        returned even when this process has not registered the functions it names."""
        check_text(workflow, "workflow name")
        with self.read_transaction() as conn:
            try:
                return self.catalog.machine(
                    conn, workflow, version, startable=False, compile_here=False
                ).definition
            except NotCompiled as pending:
                waiting = pending
        try:
            return self.catalog.compile_stored(waiting).definition  # no connection held meanwhile
        except DefinitionError:
            # this process has not registered the functions the version names: still readable
            return self.catalog.read_stored(waiting)

    def compile_ahead(self, workflow: str, version: int | None = None) -> None:
        """Compile ``workflow@version`` (the newest for None) now, with no transaction open, if
        it is deployed: for a caller about to open its own write transaction, so that nothing is
        compiled inside it. Whatever is wrong is left for that transaction to report."""
        with suppress(WorkflowError):
            self.definition(workflow, version)

    def deployed(self, workflow: str | None = None) -> list[DeployedDefinition]:
        """Every deployed version with its count of live instances."""
        with self.read_transaction() as conn:
            return deployed_definitions(conn, workflow)

    def machine_for(self, conn: Connection, workflow: str, version: int | None) -> CompiledMachine:
        """The compiled machine of ``workflow@version`` (the newest startable one for None)."""
        return self.catalog.machine(conn, workflow, version)

    def _compiled(self, conn: Connection, workflow: str, version: int | None) -> CompiledMachine:
        """:meth:`machine_for` inside :meth:`_run`'s write transaction: never compiles there."""
        return self.catalog.machine(conn, workflow, version, compile_here=False)
