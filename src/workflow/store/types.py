"""Column types shared by every table: aware UTC datetimes and JSON that keeps Vietnamese text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from workflow.clock import require_aware

Id = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit key that is still SQLite's rowid alias (and so auto-increments there)."""

Json = JSON()
"""Plain JSON (not JSONB) on PostgreSQL too: it keeps text byte for byte, \\u0000 included."""


def as_utc(value: datetime) -> datetime:
    """A datetime read from the database as aware UTC (SQLite hands back naive UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def aware(value: Any) -> datetime | None:
    """A :class:`UTCDateTime` column's value as the driver's cursor reads it (SQLite's is text),
    as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return as_utc(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; refuses naive ones; always returns aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = require_aware(value)
        # SQLite has no time zone type: store naive UTC text, which sorts correctly.
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return aware(value)
