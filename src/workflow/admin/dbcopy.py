"""Copying a whole database into an empty one (``workflow db copy --to URL``).

The way to move from SQLite to PostgreSQL (or back): every table the schema has — definitions,
workflows, instances, the audit log, timers, outbox, actors, units, directives, administrators'
events, and any table a later migration adds — is copied row for row, keys included, from one
consistent snapshot of the source into one transaction on the target. The audit rows keep their
hashes byte for byte, so the target's chains verify exactly as the source's did; the copy
verifies them before it reports success.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from workflow.engine import Engine
from workflow.errors import InvalidInput, SchemaOutOfDate
from workflow.hashchain.report import VerificationReport
from workflow.logs import get_logger
from workflow.store import copying, migrate
from workflow.store.database import DatabaseOptions

log = get_logger("workflow.dbcopy")

DEFAULT_BATCH = 1000


@dataclass(frozen=True)
class CopyReport:
    """What :func:`copy_database` copied, and the verification of the target's audit chains."""

    source: str
    target: str
    rows: Mapping[str, int] = field(default_factory=dict)
    verification: VerificationReport = field(default_factory=VerificationReport)

    @property
    def ok(self) -> bool:
        return self.verification.ok


def copy_database(
    source: Engine,
    target_url: str,
    *,
    options: DatabaseOptions | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> CopyReport:
    """Copy every row of ``source`` into the empty database at ``target_url``, then verify it.

    A target with no tables at all is first migrated to the schema this code needs (this is an
    explicit administrative command, so creating the schema is what the caller asked for); a
    target behind the code raises :class:`~workflow.SchemaOutOfDate`; a target holding any row
    raises :class:`~workflow.InvalidInput` and is left untouched. The copy is one transaction:
    on any error the target keeps no row. Returns the row count per table and the target's
    :class:`~workflow.VerificationReport`, which the caller must check (``report.ok``).
    """
    if batch_size < 1:
        raise InvalidInput("batch_size must be at least 1")
    with Engine(
        target_url,
        clock=source.clock,
        registry=source.registry,
        options=options,
        check_schema=False,
    ) as target:
        if target.db.url == source.db.url:
            raise InvalidInput("the target database is the source database")
        _prepare(target)
        # One snapshot of the whole source: every table is read at the same moment.
        with source.read_transaction(snapshot=True) as reading, target.transaction() as writing:
            copying.refuse_rows(writing)
            rows = copying.copy_tables(reading, writing, batch_size)
        verification = target.verify()
        report = CopyReport(
            copying.display_url(source.db), copying.display_url(target.db), rows, verification
        )
    log.info(
        "database.copied",
        target=report.target,
        rows=sum(rows.values()),
        chains=verification.chains,
        ok=report.ok,
    )
    return report


def _prepare(target: Engine) -> None:
    """An empty target gets the schema; anything else must already be at head."""
    current, head = target.schema_revision()
    if current == head:
        return
    if current is None and copying.has_no_tables(target.db):
        migrate.upgrade(target.db)
        return
    raise SchemaOutOfDate(current, head)
