"""The obvious peer design: a ``transitions`` machine per instance, an ORM session per transition.

What a team would write instead of the engine: an ORM-mapped ticket whose ``state`` column a
``transitions.Machine`` drives, built for the instance when it is loaded, and a history table
written in the same session. No hash chain and no outbox: the peer does less, and is still the
baseline the engine must beat by ``fire_vs_peer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from transitions import Machine

from bench.common import STATES
from bench.fire import CLERK, PAYLOAD

TRANSITIONS = [
    {"trigger": "submit", "source": "open", "dest": "review", "before": "merge"},
    {"trigger": "approve", "source": "review", "dest": "done"},
]


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    __tablename__ = "peer_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}

    def merge(self, payload: dict[str, Any]) -> None:
        self.data = {**self.data, **payload}


class History(Base):
    __tablename__ = "peer_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("peer_tickets.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str] = mapped_column(String(64))
    to_state: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime]


def peer_database(url: str, tickets: int) -> tuple[Engine, list[int]]:
    """The peer's own tables (WAL and synchronous=NORMAL on SQLite, as the engine) with tickets."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        rows = [Ticket(state="open", data={}, updated_at=now) for _ in range(tickets)]
        session.add_all(rows)
        session.flush()
        ids = [t.id for t in rows]
    return engine, ids


def peer_fires(engine: Engine, ids: Sequence[int]) -> None:
    """One session, one freshly built machine and one history row per transition."""
    for ticket_id in ids:
        with Session(engine) as session, session.begin():
            ticket = session.get_one(Ticket, ticket_id)
            before = ticket.state
            Machine(
                model=ticket,
                states=list(STATES),
                transitions=TRANSITIONS,
                initial=ticket.state,
                auto_transitions=False,
            )
            ticket.submit(dict(PAYLOAD))  # type: ignore[attr-defined]
            ticket.updated_at = datetime.now(UTC)
            session.add(
                History(
                    ticket_id=ticket.id,
                    trigger="submit",
                    from_state=before,
                    to_state=ticket.state,
                    actor=CLERK.id,
                    occurred_at=ticket.updated_at,
                )
            )
