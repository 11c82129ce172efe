# The case tables read best one case per line, so long lines are allowed here.
# ruff: noqa: E501
"""A hostile environment, through the real ``workflow`` command in its own process.

One row per case: a database that is missing, not a database, unreachable, read-only or full; a
URL this code cannot use; a statement timeout; an output path that is a symbolic link. Each
ends with its documented exit code, exactly one line on stderr, no traceback, no SQL text, no
statement parameters, no password, and nothing written (no file, no folder, no row). Read-only
mounts and a full disk are real: a private mount namespace (``unshare``) with a read-only bind
mount or a tiny tmpfs; those rows are skipped, saying so, where ``unshare`` is not permitted.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_runner import run_process, workflow_argv
from sqlalchemy import create_engine, text
from support import PAYMENT, postgres_schema_url

from workflow import Actor, Engine

PASSWORD = "hunter2-Pw-7c1e"
PAYLOAD_SECRET = "payload-secret-5d2a"
CLERK = Actor("lan", ["clerk"])
FORBIDDEN = ("Traceback", "[SQL", "[parameters", "Background on this error", "sqlalche.me", PASSWORD, PAYLOAD_SECRET)


def assert_one_clean_line(done: subprocess.CompletedProcess[str], code: int, fragment: str) -> None:
    """The documented code, one line on stderr naming the problem, nothing that must not show."""
    assert (done.returncode, done.stderr.count("\n"), fragment in done.stderr) == (code, 1, True), done.stderr
    for forbidden in FORBIDDEN:
        assert forbidden not in done.stdout + done.stderr


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its content hash: "nothing written" compares two."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(("-wal", "-shm"))
    }


def row_counts(url: str) -> dict[str, int]:
    with Engine.open(url, create=False) as engine, engine.db.connect() as conn:
        names = ["instances", "audit_events", "actors", "definitions", "outbox"]
        return {n: int(conn.execute(text(f"SELECT count(*) FROM {n}")).scalar_one()) for n in names}


def seeded(url: str) -> str:
    """``url`` with the payment workflow, actor ``lan`` and instance 1 (open)."""
    with Engine.open(url) as engine:
        engine.deploy_text(PAYMENT, filename="payment.yaml")
        engine.add_actor("lan", ["clerk"])
        engine.start("payment", CLERK)
    return url


# --- databases and URLs that cannot be used ----------------------------------------------------

NOT_SQLITE = b"PK\x03\x04 this is a zip archive, not a database " * 40


@dataclass
class Case:
    argv: Callable[[Path], list[str]]
    code: int
    fragment: str
    setup: Callable[[Path], None] = field(default=lambda _work: None)


def _missing(*command: str) -> Case:
    return Case(lambda w: ["--db", f"sqlite:///{w / 'typo' / 'dmeo.db'}", *command], 2, "no such database file")


def _not_sqlite(*command: str) -> Case:
    return Case(lambda w: ["--db", f"sqlite:///{w / 'archive.db'}", *command], 2, "is not a SQLite database",
                lambda w: (w / "archive.db").write_bytes(NOT_SQLITE))


def _url(url: str, fragment: str, *command: str) -> Case:
    return Case(lambda _w: ["--db", url, *(command or ("list",))], 2, fragment)


UNREACHABLE = f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:1/workflow"

SQLITE_CASES = {
    "missing database: audit verify": _missing("audit", "verify"),
    "missing database: list": _missing("list"),
    "missing database: db current": _missing("db", "current"),
    "missing database: fire": _missing("fire", "1", "pay", "--actor", "lan"),
    "missing database: audit export": Case(lambda w: ["--db", f"sqlite:///{w / 'typo.db'}", "audit", "export", "-o", str(w / "out.jsonl")], 2, "no such database file"),
    "missing database: db copy": _missing("db", "copy", "--to", "sqlite:///copy.db"),
    "not a database: list": _not_sqlite("list"),
    "not a database: actors add": _not_sqlite("actors", "add", "x", "--role", "clerk"),
    "driver psycopg2": _url(f"postgresql+psycopg2://app:{PASSWORD}@127.0.0.1/workflow", "psycopg 3"),
    "driver asyncpg": _url(f"postgresql+asyncpg://app:{PASSWORD}@127.0.0.1/workflow", "psycopg 3"),
    "unknown scheme": _url(f"mysql://app:{PASSWORD}@127.0.0.1/workflow", "is not supported"),
    "port not a number": _url(f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:abc/workflow", "is not valid"),
    "port out of range": _url(f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:99999/workflow", "port 99999"),
    "unparseable URL with a password": _url(f"postgresql+psycopg://app:{PASSWORD}@x@[::1/workflow", "is not valid"),
    "not a URL at all": _url(f"app:{PASSWORD}", "is not valid"),
    "unreachable server": _url(UNREACHABLE, "cannot connect"),
    "unreachable server, postgres:// spelling": _url(f"postgres://app:{PASSWORD}@127.0.0.1:1/workflow", "cannot connect"),
    "URL option not a number": _url("sqlite:///w.db?busy_timeout_ms=soon", "whole number"),
    "URL option too large": _url("sqlite:///w.db?busy_timeout_ms=99999999999999", "whole number"),
    "URL option not a choice": _url("sqlite:///w.db?journal_mode=wal;drop", "must be one of"),
    "db copy to an unreachable server": Case(lambda w: ["--db", f"sqlite:///{w / 'src.db'}", "db", "copy", "--to", UNREACHABLE], 2, "cannot connect",
                                             lambda w: Engine.open(f"sqlite:///{w / 'src.db'}").close()),
    "db copy to a psycopg2 URL": Case(lambda w: ["--db", f"sqlite:///{w / 'src.db'}", "db", "copy", "--to", UNREACHABLE.replace("psycopg", "psycopg2")], 2, "psycopg 3",
                                      lambda w: Engine.open(f"sqlite:///{w / 'src.db'}").close()),
}  # fmt: skip


@pytest.mark.parametrize("case", SQLITE_CASES.values(), ids=SQLITE_CASES.keys())
def test_database_and_url_faults(case: Case, tmp_path: Path) -> None:
    """Run in an empty folder: afterwards it holds exactly what the setup put there."""
    case.setup(tmp_path)
    before = snapshot(tmp_path)
    done = run_process(*case.argv(tmp_path), cwd=tmp_path)
    assert_one_clean_line(done, case.code, case.fragment)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "typo").exists()


# --- PostgreSQL: URL options, a database that does not exist, statement timeouts ----------------


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    url = postgres_schema_url(request.getfixturevalue("postgres_server_url"))
    with Engine(url, check_schema=False) as setup:
        setup.upgrade_schema()
    return seeded(url)


def _with_password(url: str, **query: str) -> str:
    """``url`` with a password (trust authentication ignores it) and extra query options."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(password=PASSWORD)
    return parsed.update_query_dict(query).render_as_string(hide_password=False)


PG_OPTION_CASES = {
    "unknown URL option": ({"colour": "red"}, "cannot connect"),
    "invalid URL option value": ({"sslmode": "sometimes"}, "cannot connect"),
    "server setting out of range": ({"statement_timeout_ms": "0", "application_name": "x" * 70}, ""),
}


@pytest.mark.parametrize(("query", "fragment"), [c for c in PG_OPTION_CASES.values() if c[1]], ids=[k for k, c in PG_OPTION_CASES.items() if c[1]])
def test_postgres_url_options_the_driver_refuses(pg_url: str, tmp_path: Path, query: dict[str, str], fragment: str) -> None:
    before = row_counts(pg_url)
    done = run_process("--db", _with_password(pg_url, **query), "fire", "1", "pay", "--actor", "lan", "--payload", json.dumps({"paid": 150, "note": PAYLOAD_SECRET}), cwd=tmp_path)
    assert_one_clean_line(done, 2, fragment)
    assert row_counts(pg_url) == before


def test_postgres_database_that_does_not_exist(postgres_server_url: str, tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(postgres_server_url).set(database="no_such_db_7c1e", password=PASSWORD)
    done = run_process("--db", url.render_as_string(hide_password=False), "audit", "verify", cwd=tmp_path)
    assert_one_clean_line(done, 2, "does not exist")


def _payment_payload() -> str:
    return json.dumps({"paid": 150, "note": PAYLOAD_SECRET})


@pytest.mark.parametrize(
    ("command", "lock"),
    [
        (["fire", "1", "pay", "--actor", "lan", "--payload", _payment_payload()], "SELECT id FROM instances WHERE id = 1 FOR UPDATE"),
        (["start", "payment", "--actor", "lan", "--data", json.dumps({"note": PAYLOAD_SECRET})], "LOCK TABLE instances IN EXCLUSIVE MODE"),
    ],
    ids=["fire", "start"],
)  # fmt: skip
def test_statement_timeout_is_busy_not_a_bug(pg_url: str, tmp_path: Path, command: list[str], lock: str) -> None:
    """Another transaction holds the lock the command needs past its statement timeout: exit 4
    ("retry"), one line, the payload nowhere, nothing committed."""
    before = row_counts(pg_url)
    with Engine.open(pg_url, create=False) as holder, holder.db.connect() as conn, conn.begin():
        conn.execute(text(lock))
        done = run_process("--db", _with_password(pg_url, statement_timeout_ms="300"), *command, cwd=tmp_path)
    assert_one_clean_line(done, 4, "statement timed out")
    assert row_counts(pg_url) == before


# --- a failed statement: its text and parameters stay out of the message ---------------------------


def test_a_failed_statement_prints_neither_sql_nor_parameters(tmp_path: Path) -> None:
    """A table renamed by hand makes the fire fail inside SQLite: a bug's exit 70, still one line,
    without the INSERT or the payload it carried."""
    url = seeded(f"sqlite:///{tmp_path / 'w.db'}")
    with create_engine(url).begin() as conn:
        conn.execute(text("ALTER TABLE outbox RENAME TO outbox_gone"))
    done = run_process("--db", url, "fire", "1", "pay", "--actor", "lan", "--payload", _payment_payload(), cwd=tmp_path)
    assert_one_clean_line(done, 70, "no such table: outbox")
    assert "INSERT" not in done.stderr


# --- read-only media and a full disk, in a private mount namespace ---------------------------------


def _namespaces_permitted() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--user", "--map-root-user", "--mount", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


needs_namespace = pytest.mark.skipif(not _namespaces_permitted(), reason="unshare --user --mount is not permitted here: read-only media and full-disk rows skipped")


def _in_namespace(setup: str, *args: str, cwd: Path, after: str = "true") -> subprocess.CompletedProcess[str]:
    """``workflow ARGS`` run after the shell ``setup`` (mounts) in a private mount namespace;
    ``after`` runs once it exits (the exit code stays the command's)."""
    command = shlex.join(workflow_argv(*args))
    script = f"set -e; {setup}; set +e; {command}; rc=$?; {after}; exit $rc"
    return run_process(prefix=["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script], cwd=cwd)


def _read_only(folder: Path) -> str:
    return f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} {folder}"


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """A folder holding a migrated WAL database with one instance, checkpointed and closed."""
    folder = tmp_path / "media"
    seeded(f"sqlite:///{folder / 'w.db'}")
    return folder


READ_ONLY_READS = {
    "list": (["list", "--json"], '"state": "open"'),
    "audit verify": (["audit", "verify"], "ok: 1 chains"),
    "history": (["history", "1"], "start"),
}


@needs_namespace
@pytest.mark.parametrize(("command", "expected"), READ_ONLY_READS.values(), ids=READ_ONLY_READS.keys())
def test_a_wal_database_on_read_only_media_can_be_read(media: Path, command: list[str], expected: str) -> None:
    done = _in_namespace(_read_only(media), "--db", f"sqlite:///{media / 'w.db'}", *command, cwd=media.parent)
    assert (done.returncode, expected in done.stdout, done.stderr) == (0, True, "")


@needs_namespace
def test_a_wal_database_with_committed_wal_pages_on_read_only_media_shows_them(tmp_path: Path) -> None:
    """A copy taken while the database was open (its -wal holding the last commits) is read
    with those commits, not as the main file alone."""
    live, media = tmp_path / "live", tmp_path / "media"
    url = seeded(f"sqlite:///{live / 'w.db'}")
    media.mkdir()
    with Engine.open(url) as engine:
        engine.start("payment", CLERK)  # in the -wal only: no checkpoint before the copy
        for name in ("w.db", "w.db-wal", "w.db-shm"):
            shutil.copyfile(live / name, media / name)
    done = _in_namespace(_read_only(media), "--db", f"sqlite:///{media / 'w.db'}", "list", "--json", cwd=tmp_path)
    assert (done.returncode, len(json.loads(done.stdout))) == (0, 2), done.stderr


READ_ONLY_WRITES = {
    "fire on read-only media": (lambda m: ["--db", f"sqlite:///{m / 'w.db'}", "fire", "1", "pay", "--actor", "lan", "--payload", _payment_payload()], "read-only"),
    "new database on a read-only file system": (lambda m: ["--db", f"sqlite:///{m / 'new.db'}", "actors", "add", "x", "--role", "clerk"], "Read-only file system"),
}  # fmt: skip


@needs_namespace
@pytest.mark.parametrize(("argv", "fragment"), READ_ONLY_WRITES.values(), ids=READ_ONLY_WRITES.keys())
def test_writes_on_read_only_media_are_refused(media: Path, argv: Callable[[Path], list[str]], fragment: str) -> None:
    before = snapshot(media)
    done = _in_namespace(_read_only(media), *argv(media), cwd=media.parent)
    assert_one_clean_line(done, 2, fragment)
    assert snapshot(media) == before


@needs_namespace
def test_a_full_disk_is_refused_with_one_line_and_nothing_committed(media: Path, tmp_path: Path) -> None:
    """The database on a 2 MiB tmpfs filled to its last 64 KiB; a fire with a 60 KB note
    needs more: "database or disk is full", exit 2, and the copy taken afterwards holds no
    trace of the fire."""
    disk, out = tmp_path / "disk", tmp_path / "after"
    disk.mkdir()
    out.mkdir()
    setup = (
        f"mount -t tmpfs -o size=2m tmpfs {disk} && cp {media / 'w.db'} {disk}/ && "
        f"avail=$(df --output=avail -B1 {disk} | tail -1) && "
        f"head -c $((avail - 65536)) /dev/zero > {disk}/filler"
    )
    payload = json.dumps({"paid": 150, "note": PAYLOAD_SECRET + "x" * 60_000})
    done = _in_namespace(setup, "--db", f"sqlite:///{disk / 'w.db'}", "fire", "1", "pay", "--actor", "lan", "--payload", payload,
                         cwd=tmp_path, after=f"cp {disk}/w.db* {out}/")  # fmt: skip
    assert_one_clean_line(done, 2, "database or disk is full")
    with Engine.open(f"sqlite:///{out / 'w.db'}", create=False) as engine:
        assert (engine.get(1).state, len(engine.history(1))) == ("open", 1)


# --- output files: private, and never written through a symbolic link ------------------------------


OUTPUTS = {
    "audit export": ["audit", "export", "-o"],
    "audit checkpoint": ["audit", "checkpoint", "-o"],
    "definitions graph": ["definitions", "graph", "payment", "-o"],
    "instance graph": ["graph", "1", "-o"],
}


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return seeded(f"sqlite:///{tmp_path / 'w.db'}")


@pytest.mark.parametrize("command", OUTPUTS.values(), ids=OUTPUTS.keys())
def test_output_through_a_symbolic_link_is_refused(sqlite_db: str, tmp_path: Path, command: list[str]) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    (tmp_path / "link.out").symlink_to(victim)
    before = snapshot(tmp_path)
    done = run_process("--db", sqlite_db, *command, str(tmp_path / "link.out"), cwd=tmp_path)
    assert_one_clean_line(done, 2, "symbolic link")
    assert snapshot(tmp_path) == before
    assert (tmp_path / "link.out").is_symlink()


@pytest.mark.parametrize("command", OUTPUTS.values(), ids=OUTPUTS.keys())
def test_outputs_are_written_0600_whatever_the_umask(sqlite_db: str, tmp_path: Path, command: list[str]) -> None:
    """A new file and one that existed with 0644 both end 0600 (an export carries payloads)."""
    fresh, existing = tmp_path / "fresh.out", tmp_path / "existing.out"
    existing.write_text("old\n", encoding="utf-8")
    existing.chmod(0o644)
    for target in (fresh, existing):
        done = run_process("--db", sqlite_db, *command, str(target), cwd=tmp_path, umask=0)
        assert done.returncode == 0, done.stderr
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (fresh, existing)}
    assert modes == {"fresh.out": 0o600, "existing.out": 0o600}
    assert existing.read_text(encoding="utf-8") != "old\n"


# --- webhook credentials stay out of the outbox and of `events list` -------------------------------

TOKEN = "tok-3e9b1f"


def test_webhook_credentials_are_not_stored_or_shown(sqlite_db: str, tmp_path: Path) -> None:
    """A webhook URL with a user, a password and a query token fails to deliver (nothing
    listens on port 1): the error recorded on the outbox row and every `events list` output name
    the host and path only."""
    sinks = tmp_path / "sinks.yaml"
    url = f"http://hook:{PASSWORD}@127.0.0.1:1/hook?token={TOKEN}"
    sinks.write_text(f"sinks:\n  - name: office\n    type: webhook\n    url: {url}\n    secret: s3\n", encoding="utf-8")
    run = run_process("--db", sqlite_db, "events", "run", "--sinks", str(sinks), "--once", cwd=tmp_path)
    listed = run_process("--db", sqlite_db, "events", "list", "--json", cwd=tmp_path)
    table = run_process("--db", sqlite_db, "events", "list", cwd=tmp_path)
    with create_engine(sqlite_db).connect() as conn:
        stored = [r[0] for r in conn.execute(text("SELECT last_error FROM outbox"))]
    assert any("http://127.0.0.1:1/hook?…" in (e or "") for e in stored), stored
    for output in (run.stdout + run.stderr, listed.stdout, table.stdout, *map(str, stored)):
        assert PASSWORD not in output
        assert TOKEN not in output
