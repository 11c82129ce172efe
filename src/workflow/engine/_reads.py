"""Reads of instances: the triggers open to an actor now, one instance, a filtered page of them, a
count, an instance's history, and the verification of the whole log (its body in
:mod:`workflow._verification`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from workflow._machine import StepContext
from workflow._verification import LogSource, ProgressCallback, verify_log
from workflow.engine._definitions import Definitions
from workflow.engine._transactions import Within
from workflow.errors import NotFound
from workflow.hashchain.report import VerificationReport
from workflow.hashchain.verifier import RowObserver
from workflow.limits import (
    MAX_UNIT_CHARS,
    check_instance_id,
    check_json_object,
    check_optional,
    check_text,
)
from workflow.records import Actor, AuditEvent, Instance, TriggerMenu
from workflow.registry import GuardContext
from workflow.store import Connection
from workflow.store import repository as repo
from workflow.store.mapping import to_event, to_instance
from workflow.store.repository import InstanceFilter


class Reads(Definitions):
    """Reading instances and their history, and verifying the log."""

    def available_triggers(
        self,
        instance_id: int,
        actor: Actor,
        *,
        payload: Mapping[str, Any] | None = None,
        within: Within | None = None,
    ) -> TriggerMenu:
        """Every trigger of the instance's definition, in declaration order, each allowed for
        ``actor`` now or closed with the reason (``state``: no transition from the current
        state; ``role``; ``unit``; ``guard``, with the missing fields), read in one transaction.

        The buttons of a user interface: an allowed trigger is one :meth:`fire` would take with
        the same actor and ``payload`` (guards see the instance's data with ``payload`` laid over
        it, as in a fire), unless the instance moves first; pass the menu's
        ``instance.version`` as ``expected_version`` to refuse that case. Raises
        :class:`~workflow.NotFound` for an unknown instance.
        """
        instance_id = check_instance_id(instance_id)
        draft = dict(payload or {})
        check_json_object(draft, "payload")
        now = self.now()

        def read(conn: Connection) -> TriggerMenu:
            row = repo.instance_row(conn, instance_id)
            if row is None:
                raise NotFound("instance", instance_id)
            compiled = self._compiled(conn, row.workflow, row.definition_version)
            coordinating = tuple(row.coordinating_units or ())
            options = []
            for trigger in compiled.definition.triggers:
                ctx = GuardContext(
                    instance_id=instance_id,
                    workflow=row.workflow,
                    state=row.state,
                    trigger=trigger,
                    actor_id=actor.id,
                    actor_roles=actor.roles,
                    data=dict(row.data),
                    payload=draft,
                    now=now,
                )
                step = StepContext(ctx, actor, row.unit, coordinating)
                options.append(compiled.option(row.state, trigger, step))
            return TriggerMenu(to_instance(row), actor.id, tuple(options))

        return self._compiled_then(read, self._transaction_for(within, self.read_transaction))

    def get(self, instance_id: int, *, within: Within | None = None) -> Instance:
        """The instance as stored (``within``: as the application's transaction sees it)."""
        with self._transaction_for(within, self.read_transaction)() as conn:
            row = repo.instance_row(conn, check_instance_id(instance_id))
        if row is None:
            raise NotFound("instance", instance_id)
        return to_instance(row)

    def instances(
        self,
        *,
        limit: int = 100,
        before_id: int | None = None,
        **where: Unpack[InstanceFilter],
    ) -> list[Instance]:
        """Instances matching every filter given (``workflow``, ``state``, ``unit``,
        ``directive_id``, ``active``, ``involving``), newest first; page with ``before_id``.

        ``involving``: only those of no unit, those one of these units leads or coordinates
        and those of the ``involving_directives`` (what a member of these units who oversees
        these directives may see: ``workflow.accounts.visible_instances``)."""
        _check_filters(where)
        with self.read_transaction() as conn:
            rows = repo.instance_rows(conn, where, limit=limit, before_id=before_id)
        return [to_instance(r) for r in rows]

    def count_instances(self, **where: Unpack[InstanceFilter]) -> int:
        """How many instances :meth:`instances` would list with these filters and no limit."""
        _check_filters(where)
        with self.read_transaction() as conn:
            return repo.instance_count(conn, where)

    def history(self, instance_id: int, *, within: Within | None = None) -> list[AuditEvent]:
        """Every audit event of one instance, oldest first."""
        with self._transaction_for(within, self.read_transaction)() as conn:
            if repo.instance_row(conn, check_instance_id(instance_id)) is None:
                raise NotFound("instance", instance_id)
            return [to_event(r) for r in repo.history_rows(conn, instance_id)]

    def verify(
        self,
        instance_id: int | None = None,
        *,
        observe: RowObserver | None = None,
        progress: ProgressCallback | None = None,
        processes: int | None = None,
    ) -> VerificationReport:
        """Walk every chain (or one) and replay it as a legal run (:mod:`workflow._legal`); the
        report lists the first bad event per chain, and the administrators' log's first (chain
        0: its links, then the definitions and actors tables against it) when every chain was
        walked. ``observe`` sees every audit row read (a checkpoint's check); ``progress`` is
        called with the number of events read so far, now and then.

        A SQLite log of 200,000 events or more is split over up to ``processes`` processes
        (default: one a core, at most four), all reading one snapshot
        (:mod:`workflow._verification`); ``processes=1`` walks it here alone. The report is the
        same either way."""
        source = LogSource(
            self.db, self.catalog, self.registry, self.audit_keys,
            None if self._adopted else self.url, self.options,
        )  # fmt: skip
        return verify_log(
            source, instance_id, observe=observe, progress=progress, processes=processes
        )


def _check_filters(where: InstanceFilter) -> None:
    """Refuse a filter that is not one (a misspelt keyword would otherwise filter nothing) and
    names beyond their limits."""
    unknown = where.keys() - InstanceFilter.__annotations__.keys()
    if unknown:
        raise TypeError(f"not an instance filter: {', '.join(sorted(unknown))}")
    for what in ("workflow", "state", "unit"):
        check_optional(where.get(what), what)
    for each in where.get("involving") or ():
        check_text(each, "unit", MAX_UNIT_CHARS)
    if not all(isinstance(d, int) for d in where.get("involving_directives") or ()):
        raise TypeError("involving_directives holds directive ids")
