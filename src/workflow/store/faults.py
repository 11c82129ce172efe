"""The database's own faults, told apart from the caller's mistakes and from contention.

:func:`typed_fault` turns a driver error into :class:`~workflow.DatabaseUnavailable` (the
database cannot be used: not a database, unreachable, read-only, full; of it
:class:`~workflow.ConnectionLost`, an open connection found dead) or
:class:`~workflow.DatabaseBusy` (a timeout: retry), with the driver's first line only and the
URL's password masked; contention ("locked", serialization failures) and constraint violations
are left to the transaction plumbing. Both paths use it: SQLAlchemy's ``handle_error`` hook and
the hot path's driver cursor (:mod:`workflow.store.chain_writer`).
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from workflow.errors import ConnectionLost, DatabaseBusy, DatabaseUnavailable, WorkflowError
from workflow.i18n import N_, _

_USERINFO = re.compile(r"^(?P<scheme>[^:/@]+://)(?P<userinfo>.*)@(?P<rest>[^@]*)$", re.DOTALL)


def mask_url(url: str | URL) -> str:
    """``url`` fit to show: its password replaced by ``***``, even when it does not parse."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        pass
    found = _USERINFO.match(url)
    if found is not None:
        user, colon, _password = found["userinfo"].partition(":")
        return f"{found['scheme']}{user}{':***' if colon else ''}@{found['rest']}"
    if "://" not in url and ":" in url:
        return url.partition(":")[0] + ":***"
    return url


# SQLite result codes (Python's ``sqlite_errorname``) that say the file cannot be used as asked.
_SQLITE_FAULTS = {
    "SQLITE_NOTADB": N_("the file is not a SQLite database"),
    "SQLITE_FULL": N_("database or disk is full"),
    "SQLITE_CANTOPEN": N_("cannot open the database file"),
    "SQLITE_CORRUPT": N_("the database file is corrupt (database disk image is malformed)"),
    "SQLITE_IOERR": N_("disk I/O error"),
    "SQLITE_READONLY": N_("the database is read-only"),
    "SQLITE_PERM": N_("no permission to use the database file"),
}
# PostgreSQL SQLSTATEs: a timeout is "busy" (retry), the rest say the server cannot serve us.
_PG_BUSY = {
    "57014": N_("a statement timed out (statement_timeout_ms)"),
    "25P03": N_("the transaction was idle too long (idle_in_transaction_timeout_ms)"),
}
_PG_FAULTS = {
    "53100": N_("the server's disk is full"),
    "53200": N_("the server is out of memory"),
    "53300": N_("the server has too many connections"),
    "57P01": N_(
        "the server closed the connection (terminated by an administrator, or shutting down)"
    ),
    "57P02": N_("the server is shutting down"),
    "57P03": N_("the server is not accepting connections yet"),
    "25006": N_("the database is read-only"),
}


def typed_fault(
    orig: BaseException, url: str, *, connecting: bool, disconnect: bool
) -> WorkflowError | None:
    """The typed error for driver error ``orig`` on the database ``url`` (already masked), or
    None when it is not a fault of the database (contention, a constraint, a bug)."""
    text = str(orig).strip()
    first_line = text.splitlines()[0] if text else type(orig).__name__
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str):
        base = next((k for k in _SQLITE_FAULTS if name == k or name.startswith(k + "_")), None)
        return None if base is None else DatabaseUnavailable(url, _(_SQLITE_FAULTS[base]))
    state = getattr(orig, "sqlstate", None)
    if state in _PG_BUSY:
        return DatabaseBusy(url, _(_PG_BUSY[state]))
    # an open connection found dead: nothing it began was committed
    unavailable = ConnectionLost if disconnect and not connecting else DatabaseUnavailable
    if state in _PG_FAULTS:
        return unavailable(url, _(_PG_FAULTS[state]))
    if disconnect:
        return unavailable(url, _("lost the connection to the server: {why}", why=first_line))
    if connecting or (state or "").startswith("08"):
        # failed to connect: bad host, port, password, database name or URL option
        return DatabaseUnavailable(url, _("cannot connect: {why}", why=first_line))
    return None
