"""The statements of accounts (people's logins) and API tokens (applications' credentials).

A password is stored only as its Argon2id hash, a token only as the SHA-256 of its secret; the
policy (hashing, expiry, throttling) is :mod:`workflow.accounts`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row

from workflow.store.driver import DriverCursor
from workflow.store.mapping import read_json
from workflow.store.tables import accounts, actors, api_tokens
from workflow.store.types import aware


def account_row(conn: Connection, name: str) -> Row[Any] | None:
    """The account with its actor's registry entry (``roles``, ``unit``, ``actor_name``)."""
    query = (
        select(
            accounts,
            actors.c.roles,
            actors.c.unit,
            actors.c.name.label("actor_name"),
        )
        .join(actors, actors.c.id == accounts.c.actor_id)
        .where(accounts.c.name == name)
    )
    return conn.execute(query).first()


def account_rows(conn: Connection) -> Sequence[Row[Any]]:
    return conn.execute(select(accounts).order_by(accounts.c.name)).all()


def insert_account(
    conn: Connection, name: str, actor_id: str, password_hash: str, now: datetime
) -> None:
    conn.execute(
        insert(accounts).values(
            name=name,
            actor_id=actor_id,
            password_hash=password_hash,
            disabled=False,
            created_at=now,
            updated_at=now,
        )
    )


def update_account(conn: Connection, name: str, now: datetime, **values: Any) -> bool:
    """Set ``values`` (``password_hash``, ``disabled``) on the account; False when there is none."""
    result = conn.execute(
        update(accounts).where(accounts.c.name == name).values(updated_at=now, **values)
    )
    return result.rowcount == 1


def insert_token(
    conn: Connection,
    actor_id: str,
    label: str | None,
    secret_hash: str,
    created_by: str,
    now: datetime,
    expires_at: datetime,
) -> int:
    result = conn.execute(
        insert(api_tokens)
        .values(
            actor_id=actor_id,
            label=label,
            secret_hash=secret_hash,
            created_at=now,
            created_by=created_by,
            expires_at=expires_at,
        )
        .returning(api_tokens.c.id)
    )
    return int(result.scalar_one())


_GRANT_COLUMNS = "t.id, t.actor_id, t.expires_at, t.revoked_at, a.roles, a.unit, a.name"
_TOKEN_BY_SECRET = {
    dialect: f"SELECT {_GRANT_COLUMNS} FROM api_tokens AS t"  # noqa: S608 - a placeholder
    f" JOIN actors AS a ON a.id = t.actor_id WHERE t.secret_hash = {mark}"
    for dialect, mark in (("sqlite", "?"), ("postgresql", "%s"))
}


class TokenGrant(NamedTuple):
    """A token found by its secret, with its actor's registry entry: what a request needs."""

    id: int
    actor_id: str
    expires_at: datetime
    revoked_at: datetime | None
    roles: list[str]
    unit: str | None
    actor_name: str | None


def token_by_secret(conn: Connection, secret_hash: str) -> TokenGrant | None:
    """The token with this secret hash and its actor's registry entry, in one read on the
    driver's cursor: every API request makes it, and through Core it added 0.21 ms of CPU to
    an API fire, here 0.12-0.17 (docs/performance.md, "The API's fire")."""
    with DriverCursor(conn) as cursor:
        row = cursor.execute(_TOKEN_BY_SECRET[conn.dialect.name], (secret_hash,)).fetchone()
    if row is None:
        return None
    token_id, actor_id, expires_at, revoked_at, roles, unit, name = row
    expires = aware(expires_at)
    assert expires is not None  # NOT NULL
    return TokenGrant(
        token_id,
        actor_id,
        expires,
        aware(revoked_at),
        read_json(roles) if isinstance(roles, str) else roles,
        unit,
        name,
    )


def token_row(conn: Connection, token_id: int) -> Row[Any] | None:
    return conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()


def token_rows(conn: Connection, actor_id: str | None = None) -> Sequence[Row[Any]]:
    query = select(api_tokens).order_by(api_tokens.c.id)
    if actor_id is not None:
        query = query.where(api_tokens.c.actor_id == actor_id)
    return conn.execute(query).all()


def revoke_token(conn: Connection, token_id: int, now: datetime) -> bool:
    """Mark the token revoked; False when it does not exist or was revoked already."""
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1
