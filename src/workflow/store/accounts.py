"""The statements of accounts (people's logins) and API tokens (applications' credentials).

A password is stored only as its Argon2id hash, a token only as the SHA-256 of its secret; the
policy (hashing, expiry, throttling) is :mod:`workflow.accounts`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Row

from workflow.store.tables import accounts, actors, api_tokens


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


_TOKEN_BY_SECRET = (
    select(api_tokens, actors.c.roles, actors.c.unit, actors.c.name.label("actor_name"))
    .join(actors, actors.c.id == api_tokens.c.actor_id)
    .where(api_tokens.c.secret_hash == bindparam("secret_hash"))
)
"""Built once: its cache key is computed once, not on every request of the service."""


def token_by_secret(conn: Connection, secret_hash: str) -> Row[Any] | None:
    """The token with this secret hash and its actor's registry entry, in one read."""
    return conn.execute(_TOKEN_BY_SECRET, {"secret_hash": secret_hash}).first()


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
