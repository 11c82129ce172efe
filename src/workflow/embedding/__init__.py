"""Embedding the engine in an application: its event loop (:class:`AsyncEngine`, the engine's
verbs as coroutines, and :class:`AsyncTransaction`, the application's statements and the
engine's verbs in one transaction) and its migration history (:func:`table_names`,
:func:`alembic_include_name`: what the application's Alembic must leave alone).

Joining the application's own transaction needs nothing from here: every verb of
:class:`~workflow.Engine` that writes takes ``within=`` a SQLAlchemy Connection or Session, and
:meth:`Engine.from_sqlalchemy <workflow.Engine.from_sqlalchemy>` builds the engine over the
application's SQLAlchemy engine. See docs/embedding.md.
"""

from __future__ import annotations

from workflow.embedding._async import AsyncEngine, AsyncTransaction
from workflow.embedding._tables import alembic_include_name, table_names

__all__ = ["AsyncEngine", "AsyncTransaction", "alembic_include_name", "table_names"]
