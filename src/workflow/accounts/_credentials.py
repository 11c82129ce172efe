"""Accounts (a person's name and password, acting as one registered actor) and API tokens (an
application's bearer secret), checked into a :class:`Principal`.

Passwords are hashed with Argon2id (argon2-cffi's defaults: RFC 9106's second recommended
setting); a token is 32 random bytes, shown once, and stored as its SHA-256 (a secret that
long needs no slow hash, and the digest is the lookup key). Every change is an event of the
administrators' log; a failed or throttled login writes nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from workflow.accounts._principal import Principal
from workflow.accounts._throttle import LoginThrottle
from workflow.errors import InvalidInput, NotAuthenticated, NotFound
from workflow.i18n import _
from workflow.limits import MAX_NAME_CHARS, check_optional, check_text
from workflow.records import Actor, reserved_part
from workflow.store import accounts as rows
from workflow.store import chain_writer

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from workflow.engine import Engine, Within

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
"""Longer is refused before hashing: a megabyte "password" costs nothing to refuse."""
TOKEN_PREFIX = "wft_"  # noqa: S105 - the prefix every token starts with, not a secret
MAX_TOKEN_DAYS = 3653
"""Ten years: a token lives at most this long."""
_hasher: PasswordHasher | None = None


def _passwords() -> PasswordHasher:
    global _hasher  # noqa: PLW0603 - one hasher per process, built on first use
    if _hasher is None:
        try:
            from argon2 import PasswordHasher  # noqa: PLC0415 - only where passwords are used
        except ImportError as exc:  # pragma: no cover - the [web] extra is missing
            raise InvalidInput(
                "passwords need argon2-cffi: pip install 'directive-workflow[web]'"
            ) from exc
        _hasher = PasswordHasher()
    return _hasher


def set_password_hasher(hasher: PasswordHasher | None) -> None:
    """Hash new passwords with ``hasher`` (argon2-cffi's, with its own costs) from now on in
    this process; None: its defaults again. A stored hash carries its own parameters, so
    passwords hashed at any cost keep verifying. Tests use a cheap one."""
    global _hasher  # noqa: PLW0603 - the process's one hasher
    _hasher = hasher
    _DUMMY.clear()


@dataclass(frozen=True)
class Account:
    name: str
    actor_id: str
    disabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Token:
    """A token as listed: never its secret."""

    id: int
    actor_id: str
    label: str | None
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None

    def active_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and moment < self.expires_at


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: ``secret`` is shown this once and stored nowhere."""

    token: Token
    secret: str


# --- accounts ---------------------------------------------------------------------------------


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(
            _("a password needs at least {count} characters", count=MIN_PASSWORD_CHARS)
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(_("a password has at most {count} characters", count=MAX_PASSWORD_CHARS))
    if "\x00" in password:
        raise InvalidInput(_("a password cannot hold a NUL character"))


def add_user(engine: Engine, name: str, actor_id: str, password: str, *, by: str) -> Account:
    """Create the account ``name`` acting as the registered actor ``actor_id``."""
    check_text(name, "account name", MAX_NAME_CHARS)
    check_text(by, "by", MAX_NAME_CHARS)
    _check_password(password)
    actor = engine.actor(actor_id)  # NotFound, ReservedIdentity
    digest = _passwords().hash(password)
    now = engine.now()
    with engine.transaction() as conn:
        if rows.account_row(conn, name) is not None:
            raise InvalidInput(_("account {name!r} exists already", name=name))
        rows.insert_account(conn, name, actor.id, digest, now)
        chain_writer.append_admin_event(conn, "account", name, by, {"actor": actor.id}, now)
    return Account(name, actor.id, False, now, now)


def set_password(engine: Engine, name: str, password: str, *, by: str) -> None:
    check_text(name, "account name", MAX_NAME_CHARS)
    _check_password(password)
    digest = _passwords().hash(password)
    _change(engine, name, by, "account-password", {}, password_hash=digest)


def disable_user(engine: Engine, name: str, *, by: str, disabled: bool = True) -> None:
    """Disable (or enable again) an account: a disabled one cannot log in."""
    check_text(name, "account name", MAX_NAME_CHARS)
    action = "account-disabled" if disabled else "account-enabled"
    _change(engine, name, by, action, {}, disabled=disabled)


def _change(
    engine: Engine, name: str, by: str, action: str, detail: dict[str, Any], **values: Any
) -> None:
    check_text(by, "by", MAX_NAME_CHARS)
    now = engine.now()
    with engine.transaction() as conn:
        if not rows.update_account(conn, name, now, **values):
            raise NotFound("account", name)
        chain_writer.append_admin_event(conn, action, name, by, detail, now)


def list_users(engine: Engine) -> list[Account]:
    with engine.read_transaction() as conn:
        return [
            Account(r.name, r.actor_id, bool(r.disabled), r.created_at, r.updated_at)
            for r in rows.account_rows(conn)
        ]


def check_password(
    engine: Engine,
    name: str,
    password: str,
    *,
    throttle: LoginThrottle,
    client: str | None = None,
    channel: str = "web",
) -> Principal:
    """The principal of account ``name`` when ``password`` is its password.

    Raises :class:`~workflow.errors.LoginThrottled` (before hashing anything) when ``throttle``
    has seen too many failures for the name or the ``client`` address, and
    :class:`~workflow.errors.NotAuthenticated` for an unknown name, a wrong password or a
    disabled account alike. Writes nothing either way."""
    if not isinstance(name, str) or not isinstance(password, str):
        raise NotAuthenticated()
    throttle.check(name, client)
    hasher = _passwords()
    row = None
    if 0 < len(name) <= MAX_NAME_CHARS and len(password) <= MAX_PASSWORD_CHARS:
        row = engine.retry_if_lost(partial(_account_row, engine, name))
    from argon2.exceptions import InvalidHashError, VerificationError  # noqa: PLC0415

    # an unknown name costs the same work as a known one: the answer's time tells nothing
    stored = _dummy_hash() if row is None else row.password_hash
    try:
        hasher.verify(stored, password)
        ok = row is not None and not row.disabled
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        throttle.failed(name, client)
        raise NotAuthenticated()
    throttle.succeeded(name)
    return _principal(row, f"user:{name}", channel)


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(_passwords().hash(secrets.token_hex(16)))
    return _DUMMY[0]


def principal_for_user(engine: Engine, name: str, *, channel: str = "web") -> Principal:
    """The principal of an account already logged in (the console's session), read again from
    the accounts and the actor registry: a disabled account raises NotAuthenticated."""
    if not isinstance(name, str):
        raise NotAuthenticated(_("the account is unknown or disabled"))
    row = engine.retry_if_lost(partial(_account_row, engine, name))
    if row is None or row.disabled:
        raise NotAuthenticated(_("the account is unknown or disabled"))
    return _principal(row, f"user:{name}", channel)


def _account_row(engine: Engine, name: str) -> Any:
    """The account's row joined to its actor's, in a read of its own: a request's first, so
    it is retried on a new connection when its connection is found dead (the service's pool
    does not ping: :meth:`~workflow.Engine.retry_if_lost`)."""
    with engine.read_transaction() as conn:
        return rows.account_row(conn, name)


def _principal(row: Any, account: str, channel: str) -> Principal:
    roles = list(row.roles or ())
    if reserved_part(row.actor_id, roles) is not None:
        raise NotAuthenticated(_("the actor is reserved for the engine"))
    return Principal(Actor(row.actor_id, roles, row.unit), account, channel, row.actor_name)


# --- tokens -----------------------------------------------------------------------------------


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    engine: Engine,
    actor_id: str,
    *,
    expires: timedelta,
    by: str,
    label: str | None = None,
) -> IssuedToken:
    """A new token acting as ``actor_id`` until ``expires`` from now; its secret is returned
    this once."""
    check_text(by, "by", MAX_NAME_CHARS)
    check_optional(label, "token label", MAX_NAME_CHARS)
    if expires <= timedelta(0) or expires > timedelta(days=MAX_TOKEN_DAYS):
        raise InvalidInput(
            _("a token expires after more than 0 and at most {days} days", days=MAX_TOKEN_DAYS)
        )
    actor = engine.actor(actor_id)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = engine.now()
    expires_at = now + expires
    with engine.transaction() as conn:
        token_id = rows.insert_token(
            conn, actor.id, label, _secret_hash(secret), by, now, expires_at
        )
        detail = {"actor": actor.id, "expires_at": expires_at.isoformat(), "label": label}
        chain_writer.append_admin_event(conn, "token", str(token_id), by, detail, now)
    return IssuedToken(Token(token_id, actor.id, label, now, by, expires_at, None), secret)


def revoke_token(engine: Engine, token_id: int, *, by: str) -> None:
    """Revoke a token: refused from the next request on. NotFound when unknown or revoked."""
    check_text(by, "by", MAX_NAME_CHARS)
    now = engine.now()
    with engine.transaction() as conn:
        if not rows.revoke_token(conn, token_id, now):
            raise NotFound("active token", token_id)
        chain_writer.append_admin_event(conn, "token-revoked", str(token_id), by, {}, now)


def list_tokens(engine: Engine, actor_id: str | None = None) -> list[Token]:
    with engine.read_transaction() as conn:
        return [_token(r) for r in rows.token_rows(conn, actor_id)]


def _token(r: Any) -> Token:
    return Token(
        int(r.id), r.actor_id, r.label, r.created_at, r.created_by, r.expires_at, r.revoked_at
    )


def principal_for_token(
    engine: Engine, secret: str, *, channel: str = "api", within: Within | None = None
) -> Principal:
    """The principal of a bearer token; NotAuthenticated when it is unknown, expired or revoked
    (one message for all three, so a guess learns nothing). A token is looked up by its
    SHA-256 (no slow hash: its secret is 32 random bytes), in one read.

    ``within``: read in that open transaction (of this engine's database), so that a request
    authenticates and fires in one transaction (``engine.fire(..., within=conn)``); without
    it, in a read of its own, retried on a new connection when its connection is found dead
    (:meth:`~workflow.Engine.retry_if_lost`)."""
    if not isinstance(secret, str) or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise NotAuthenticated(_("unknown, expired or revoked token"))
    hashed = _secret_hash(secret)
    if within is None:
        row = engine.retry_if_lost(partial(_token_row, engine, hashed))
    else:
        with engine.joined(within) as conn:
            row = rows.token_by_secret(conn, hashed)
    if row is None or row.revoked_at is not None or engine.now() >= row.expires_at:
        raise NotAuthenticated(_("unknown, expired or revoked token"))
    return _principal(row, f"token:{row.id}", channel)


def _token_row(engine: Engine, secret_hash: str) -> rows.TokenGrant | None:
    with engine.read_transaction() as conn:
        return rows.token_by_secret(conn, secret_hash)
