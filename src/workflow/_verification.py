"""The verification of the log (:meth:`Engine.verify`): every chain walked and replayed, and on
a large SQLite log the chains split over processes.

Why processes: the replay is Python work, about 10 µs an event on one core, so one process
walks some 100,000 events a second however many cores the machine has; the chains do not
depend on each other. A log of at least :data:`SPLIT_FROM` events is therefore cut into ranges
of chains by instance id, and each range beyond the first is walked by a helper process
(``python -c``: it does not import the caller's ``__main__``) while this one walks the first;
the reports are added up, and the first problem of each chain is reported as one process would
(the same problems, in the same order).

Why it is still one snapshot: the processes must verify the same log. SQLite cannot hand a
snapshot to another connection (Python's driver has no ``sqlite3_snapshot_*``), so this
process takes the write lock while every process begins its read transaction: no writer
commits in between, and all read the same log. Writers wait for that moment only (the helpers
are started, and their database opened, before it), and the lock is given back by a rollback:
nothing is written. Where the lock cannot be had (a read-only file), where the registry's
functions cannot be named in another process (one defined in ``__main__``), for one instance,
with an ``observe`` callback (a checkpoint's check sees every row in order), or on PostgreSQL,
the log is walked in this process alone. A helper that fails or does not answer in time has its
range walked here afterwards, in the same snapshot.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from itertools import pairwise
from multiprocessing.connection import Connection as Pipe
from typing import Any

from workflow._legal.admin_tables import admin_problems
from workflow._legal.ledger import AdminLedger
from workflow._legal.replay import LegalityCheck
from workflow._legal.rules import rules_lookup
from workflow.catalog import Catalog, source_digest
from workflow.hashchain.admin_log import verify_admin_rows
from workflow.hashchain.encoding import ADMIN_CHAIN, format_instant
from workflow.hashchain.keys import AuditKeys, KeyCheck
from workflow.hashchain.report import ChainProblem, VerificationReport, first_per_chain
from workflow.hashchain.verifier import RowObserver, verify_chains
from workflow.logs import get_logger
from workflow.registry import Registry
from workflow.store import Connection, Database
from workflow.store import repository as repo
from workflow.store.chains import ChainRange, chain_source, chain_span, event_without_instance
from workflow.store.database import DatabaseOptions, create_database_engine
from workflow.store.transactions import read_transaction, writers_held

SPLIT_FROM = 200_000
"""Events from which the log is split over processes: below it, starting a helper (about half a
second of CPU to import the package) costs more than its share of the walk saves."""
MAX_PROCESSES = 4
"""The most processes walking chains by default (each holds about 50 MB)."""
ProgressCallback = Callable[[int], None]
"""Called with the number of audit events read so far, every :data:`PROGRESS_EVERY` events."""
PROGRESS_EVERY = 10_000
logger = get_logger("workflow")
_READY_WITHIN = 60.0  # seconds for a helper to import the package and open the database
_PINNED_WITHIN = 10.0  # seconds for a helper to begin its read while writers wait


@dataclass(frozen=True)
class LogSource:
    """Where the log is, as :func:`verify_log` reads it: ``url`` and ``options`` let a helper
    process open the same database (None: the engine was handed in, and is walked here only)."""

    db: Database
    catalog: Catalog
    registry: Registry
    keys: AuditKeys | None
    url: str | None = None
    options: DatabaseOptions | None = None


def default_processes() -> int:
    """The processes walking a large log when the caller does not say: one per core this
    process may run on, at most :data:`MAX_PROCESSES`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_PROCESSES))


def verify_log(
    source: LogSource,
    instance_id: int | None = None,
    *,
    observe: RowObserver | None = None,
    progress: ProgressCallback | None = None,
    processes: int | None = None,
) -> VerificationReport:
    """What :meth:`Engine.verify` reports (see there), walked by up to ``processes`` processes
    (None: :func:`default_processes`, from :data:`SPLIT_FROM` events) when the log can be split."""
    ranges = _ranges(source, instance_id, observe, processes)
    with ExitStack() as stack:
        helpers: dict[ChainRange, _Helper] = {}
        for chains in ranges[1:]:
            helpers[chains] = stack.enter_context(_Helper.started(source, chains, progress))
        _keep(helpers, "ready", _READY_WITHIN)
        release = stack.enter_context(writers_held(source.db)) if helpers else None
        if release is None:
            _stop_all(helpers)
            ranges = [(None, None)]
        conn = stack.enter_context(read_transaction(source.db, snapshot=True))
        admin = _AdminLog.read(conn, source.keys)  # the first read: this process's snapshot
        for started in helpers.values():
            started.go(admin.since)
        _keep(helpers, "pinned", _PINNED_WITHIN)
        if release is not None:
            release()  # every process reads the same log: writers may go on
        ledger, since = admin.ledger, admin.since
        if helpers and event_without_instance(conn):  # a NULL edited in: walked whole,
            _stop_all(helpers)  # as one process reports it
            ranges = [(None, None)]
        counts = _Progress(progress, list(helpers.values()))
        report = walk_chains(
            conn, ledger, source, since, instance_id=instance_id, chains=ranges[0],
            observe=observe, count=counts.own if progress is not None else None,
        )  # fmt: skip
        for chains in ranges[1:]:
            helper = helpers.get(chains)
            found = None if helper is None else helper.result(counts)
            if found is None:  # failed, or too slow to share the snapshot: walked here
                found = walk_chains(conn, ledger, source, since, chains=chains)
            else:
                report.processes += 1
            _add(report, found)
        report.problems = first_per_chain(report.problems)
        if instance_id is None:
            report.admin_events = admin.events
            report.keyed_events += admin.keys.keyed
            report.unkeyed_events += admin.keys.unkeyed
            found_admin = [*admin.problems, *admin.keys.problems]
            found_admin += admin_problems(
                ledger, repo.deployed_definitions(conn), repo.actor_rows(conn), source_digest
            )
            report.problems[:0] = first_per_chain(found_admin)
    if progress is not None:
        progress(report.events)
    return report


def walk_chains(
    conn: Connection,
    ledger: AdminLedger,
    source: LogSource,
    since: str | None,
    *,
    instance_id: int | None = None,
    chains: ChainRange | None = None,
    observe: RowObserver | None = None,
    count: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Walk the chains (one instance's, a range of them, or all) in ``conn``'s snapshot:
    links, hashes, MACs and the replay of each as a legal run; every problem found, unsorted.
    ``count`` is called with the events read so far, every :data:`PROGRESS_EVERY`."""
    keys = KeyCheck(source.keys, since)
    with chain_source(conn, instance_id, chains) as rows:
        legal = LegalityCheck(
            ledger,
            rules_lookup(conn, source.catalog, ledger),
            source.registry,
            rows.instant,
            rows.head,
            keys,
        )
        read = 0

        def each(row: Sequence[Any]) -> None:
            nonlocal read
            legal.feed(row)
            if observe is not None:
                observe(row)
            read += 1
            if count is not None and read % PROGRESS_EVERY == 0:
                count(read)

        walk = legal.feed if observe is None and count is None else each
        report = verify_chains(rows, orphans=instance_id is None, observe=walk)
        legal.close()
        keys.close()
    report.problems += [*legal.problems, *keys.problems]
    report.keyed_events, report.unkeyed_events = keys.keyed, keys.unkeyed
    return report


@dataclass
class _AdminLog:
    """The administrators' log read into a ledger (who was registered when, what was
    deployed), its links and MACs checked; ``since``: when events began to be keyed."""

    ledger: AdminLedger
    since: str | None
    keys: KeyCheck
    events: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @classmethod
    def read(cls, conn: Connection, keys: AuditKeys | None) -> _AdminLog:
        since = None
        if keys is not None:
            first = repo.first_keyed_instant(conn)
            since = None if first is None else format_instant(first)
        log = cls(AdminLedger(), since, KeyCheck(keys, since))

        def rows() -> Iterator[Mapping[str, Any]]:
            for row in log.ledger.read(repo.admin_event_rows(conn)):
                at = format_instant(row["occurred_at"])
                log.keys.feed(ADMIN_CHAIN, row["seq"], row["hash"], row["key_id"], row["mac"], at)
                yield row

        log.events, problem = verify_admin_rows(rows())
        log.keys.close()
        log.problems = [] if problem is None else [problem]
        return log


def _add(report: VerificationReport, part: VerificationReport) -> None:
    report.chains += part.chains
    report.events += part.events
    report.problems += part.problems
    report.keyed_events += part.keyed_events
    report.unkeyed_events += part.unkeyed_events


# --- the split ------------------------------------------------------------------------------------


def _ranges(
    source: LogSource,
    instance_id: int | None,
    observe: RowObserver | None,
    processes: int | None,
) -> list[ChainRange]:
    """The ranges of chains to walk, the first in this process: one range (everything) unless
    the log is worth splitting and can be."""
    wanted = default_processes() if processes is None else processes
    whole: list[ChainRange] = [(None, None)]
    if (
        wanted < 2 or instance_id is not None or observe is not None or source.url is None
        or source.db.dialect.name != "sqlite"
    ):  # fmt: skip
        return whole
    with read_transaction(source.db) as conn:
        span = chain_span(conn)
    if span is None:
        return whole
    lo, hi, size = span
    # the registry is pickled only for a log worth splitting (a small one is verified often)
    if (processes is None and size < SPLIT_FROM) or not _nameable(source.registry):
        return whole
    parts = min(wanted, hi - lo + 1)
    cuts = [lo + (hi - lo + 1) * k // parts for k in range(1, parts)]
    return [(None, cuts[0]), *pairwise(cuts), (cuts[-1], None)] if cuts else whole


def _nameable(registry: Registry) -> bool:
    """Whether a helper process can have the same functions: each one importable by name."""
    functions = [*registry.guards.values(), *registry.effects.values()]
    try:
        return all(fn.__module__ != "__main__" for fn in functions) and bool(pickle.dumps(registry))
    except (pickle.PicklingError, AttributeError, TypeError):
        return False


class _Progress:
    """The events read so far by every process, told to ``progress`` as they come."""

    def __init__(self, progress: ProgressCallback | None, helpers: list[_Helper]) -> None:
        self.progress = progress
        self.helpers = helpers
        self.mine = 0

    def own(self, read: int) -> None:
        self.mine = read
        for helper in self.helpers:
            helper.drain()
        self.tell()

    def tell(self) -> None:
        if self.progress is not None:
            self.progress(self.mine + sum(h.read for h in self.helpers))


def _keep(helpers: dict[ChainRange, _Helper], word: str, within: float) -> None:
    """Keep the helpers that say ``word`` within ``within`` seconds; stop the others."""
    for chains, helper in list(helpers.items()):
        if not helper.says(word, within):
            helper.stop()
            del helpers[chains]


def _stop_all(helpers: dict[ChainRange, _Helper]) -> None:
    for helper in helpers.values():
        helper.stop()
    helpers.clear()


class _Helper:
    """A helper process walking one range of chains (:func:`serve_range`), spoken to through
    two pipes of its own (its stdout is not ours: a module that prints cannot break the talk)."""

    def __init__(self, source: LogSource, chains: ChainRange, counts: bool) -> None:
        self.chains = chains
        self.read = 0
        self.walked = False
        self._report: VerificationReport | None = None
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        self._outbox = Pipe(from_parent, readable=False)
        self._inbox = Pipe(to_parent, writable=False)
        # The same package and the same modules for the registry's functions, whatever the
        # caller put on its path.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._process: subprocess.Popen[bytes] | None = None
        try:
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, our own code
                [sys.executable, "-c", _SERVE, str(to_child), str(from_child)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(to_child, from_child),
                env=env,
            )
        except OSError as exc:  # no process to be had (a limit reached): walked here
            logger.warning("verify.helper_failed", error=type(exc).__name__)
        finally:
            os.close(to_child)
            os.close(from_child)
        ring = None if source.keys is None else source.keys.keys  # the keys, not their pads
        self._send((source.url, source.options, source.registry, ring, chains, counts))

    def _send(self, message: Any) -> None:
        if self._process is None:
            return
        try:
            self._outbox.send(message)
        except (OSError, ValueError, TypeError, pickle.PicklingError):
            self.stop()

    def _receive(self, within: float | None) -> Any:
        """The next message; None when the process ended, failed or said nothing in time."""
        if self._process is None:
            return None
        try:
            if within is not None and not self._inbox.poll(within):
                return None
            message = self._inbox.recv()
        except (EOFError, OSError, ValueError, pickle.UnpicklingError):
            return None
        if message[0] == "failed":
            logger.warning("verify.helper_failed", error=message[1])
            return None
        return message

    @classmethod
    @contextmanager
    def started(
        cls, source: LogSource, chains: ChainRange, progress: ProgressCallback | None
    ) -> Iterator[_Helper]:
        helper = cls(source, chains, progress is not None)
        try:
            yield helper
        finally:
            helper.stop()

    def says(self, word: str, within: float) -> bool:
        """Whether the helper's next message, within ``within`` seconds, is ``word``."""
        message = self._receive(within)
        return message is not None and message[0] == word

    def go(self, since: str | None) -> None:
        self._send(("go", since))

    def drain(self) -> None:
        """Take the counts the helper has sent so far, without waiting."""
        while self._report is None and self._process is not None:
            message = self._receive(0.0)
            if message is None:
                return
            self._take(message)

    def _take(self, message: Any) -> None:
        if message[0] == "read":
            self.read = message[1]
        elif message[0] == "done":
            self._report = message[1]
            self.walked = True

    def result(self, counts: _Progress) -> VerificationReport | None:
        """The helper's report once it has walked its range; None if it failed."""
        while self._report is None:
            message = self._receive(None)
            if message is None:
                self.stop()
                return None
            self._take(message)
            counts.tell()
        report = self._report
        self.stop()
        return report

    def stop(self) -> None:
        process, self._process = self._process, None
        self._outbox.close()
        self._inbox.close()
        if process is not None:
            if process.poll() is None:
                process.kill()
            process.wait()


_SERVE = "import sys; from workflow._verification import serve_range; serve_range(*sys.argv[1:])"


def serve_range(inbox_fd: str, outbox_fd: str) -> None:
    """A helper process: open the database, wait for the word, begin its read, walk its range
    of chains and send back the report (:class:`_Helper` speaks to it)."""
    inbox = Pipe(int(inbox_fd), writable=False)
    outbox = Pipe(int(outbox_fd), readable=False)
    try:
        url, options, registry, ring, chains, counts = inbox.recv()
        db = create_database_engine(url, options, create=False)
        keys = None if ring is None else AuditKeys(ring)
        source = LogSource(db, Catalog(registry), registry, keys, url, options)
        outbox.send(("ready",))
        with _walking(db) as conn:
            word, since = inbox.recv()
            if word != "go":
                return
            ledger = AdminLedger()
            for _ in ledger.read(repo.admin_event_rows(conn)):  # the first read: the snapshot
                pass
            outbox.send(("pinned",))
            report = walk_chains(
                conn, ledger, source, since, chains=chains,
                count=(lambda read: outbox.send(("read", read))) if counts else None,
            )  # fmt: skip
        outbox.send(("done", report))
    except BaseException as exc:
        with suppress(OSError, ValueError):
            outbox.send(("failed", type(exc).__name__))


@contextmanager
def _walking(db: Database) -> Iterator[Connection]:
    with read_transaction(db, snapshot=True) as conn:
        yield conn
    db.dispose()
