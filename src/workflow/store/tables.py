"""The schema, as SQLAlchemy Core tables (the hot path uses Core statements; no ORM session).

Only the Alembic migrations create these tables; a test checks the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from workflow.store.types import Id, Json, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

workflows = Table(
    "workflows",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

definitions = Table(
    "definitions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workflow", String(64), ForeignKey("workflows.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source_text", Text, nullable=False),
    Column("source_file", Text, nullable=False),
    Column("retired", Boolean, nullable=False, default=False),
    Column("deployed_at", UTCDateTime, nullable=False),
    Column("deployed_by", String(200), nullable=False),
    UniqueConstraint("workflow", "version"),
)

instances = Table(
    "instances",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workflow", String(64), nullable=False),
    Column("definition_version", Integer, nullable=False),
    Column("state", String(64), nullable=False),
    Column("data", Json, nullable=False),
    Column("version", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("unit", String(100), nullable=True),
    Column("coordinating_units", Json, nullable=False),
    Column("directive_id", Id, ForeignKey("directives.id"), nullable=True),
    Column("item_key", String(100), nullable=True),
    Column("parent_id", Id, ForeignKey("instances.id"), nullable=True),
    Column("due_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Index(None, "workflow", "state"),
    Index(None, "active", "due_at"),
    Index(None, "directive_id", "unit"),
    Index(None, "parent_id"),
    Index(None, "unit"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("instance_id", Id, ForeignKey("instances.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("trigger", String(64), nullable=True),
    Column("from_state", String(64), nullable=True),
    Column("to_state", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_roles", Text, nullable=False),
    Column("actor_unit", String(100), nullable=True),
    Column("reason", Text, nullable=True),
    Column("payload", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("workflow", String(64), nullable=False),
    Column("definition_version", Integer, nullable=False),
    Column("definition_hash", String(64), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("key_id", String(16), nullable=True),
    Column("mac", String(64), nullable=True),
    # api, web or cli: where the transition came from; hashed when present (null before 0004)
    Column("channel", String(10), nullable=True),
    UniqueConstraint("instance_id", "seq"),
    Index(None, "occurred_at"),
    Index(None, "actor", "occurred_at"),
    Index(None, "trigger", "occurred_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("instance_id", Id, ForeignKey("instances.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # the request the key is bound to: parts (digests for payload and data) and their digest
    Column("request", Json, nullable=False),
    Column("fingerprint", String(64), nullable=False),
)

actors = Table(
    "actors",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("roles", Json, nullable=False),
    Column("unit", String(100), nullable=True),
    Column("name", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

timers = Table(
    "timers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("instance_id", Id, ForeignKey("instances.id"), nullable=False),
    Column("state", String(64), nullable=False),
    Column("trigger", String(64), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("entered_version", Integer, nullable=False),
    Column("lease_owner", String(200), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("fired_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "status", "due_at"),
    Index(None, "instance_id", "status"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("audit_id", Id, ForeignKey("audit_events.id"), nullable=False, unique=True),
    Column("instance_id", Id, nullable=False),
    Column("topic", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(200), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index(None, "status", "next_attempt_at"),
    Index(None, "instance_id", "id"),
)

units = Table(
    "units",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("parent_code", String(100), nullable=True),
)

directives = Table(
    "directives",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("number", String(100), nullable=False, unique=True),
    Column("issuing_body", Text, nullable=False),
    Column("place", Text, nullable=False),
    Column("issued_on", String(10), nullable=False),
    Column("subject", Text, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("document", Json, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("imported_by", String(200), nullable=False),
)

admin_events = Table(
    "admin_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("seq", Integer, nullable=False, unique=True),
    Column("action", String(50), nullable=False),
    Column("subject", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("detail", Text, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("key_id", String(16), nullable=True),
    Column("mac", String(64), nullable=True),
)

accounts = Table(
    "accounts",
    metadata,
    # a person's login: acts as one registered actor (roles and unit from the actors table)
    Column("name", String(200), primary_key=True),
    Column("actor_id", String(200), ForeignKey("actors.id"), nullable=False),
    Column("password_hash", Text, nullable=False),  # Argon2id, in its own PHC string format
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    # an application's credential: the secret is shown once; only its SHA-256 is stored
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("actor_id", String(200), ForeignKey("actors.id"), nullable=False),
    Column("label", Text, nullable=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index(None, "actor_id"),
)

APPEND_ONLY = ("audit_events", "admin_events")
"""Tables whose rows the database itself refuses to update or delete."""
