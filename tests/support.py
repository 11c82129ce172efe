"""What several test modules share: sample definitions, the start instant, PostgreSQL schemas.

A plain module rather than ``conftest``: test files import it by name, and there is more than one
``conftest`` in the tree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine, text

POSTGRES_ENV = "WORKFLOW_TEST_POSTGRES_URL"
START = datetime(2020, 9, 7, 8, 0, tzinfo=UTC)

PAYMENT = """\
name: payment
labels: {vi: Thanh toán, en: Payment}
roles:
  clerk: {vi: Nhân viên, en: Clerk}
  auditor: {vi: Kiểm toán, en: Auditor}
fields:
  amount: {type: number}
  paid: {type: number}
  note: {type: string}
states:
  open: {initial: true}
  paid: {final: true}
  cancelled: {final: true}
transitions:
  - trigger: pay
    source: open
    dest: paid
    roles: [clerk]
    guards:
      - required: [paid]
      - compare: {field: paid, op: ge, value: 100}
    effects:
      - merge: [paid, note]
  - trigger: pay
    source: open
    dest: open
    roles: [clerk]
    guards:
      - required: [paid]
    effects:
      - merge: [paid, note]
  - trigger: cancel
    source: open
    dest: cancelled
    roles: [clerk, auditor]
    require_reason: true
"""


def postgres_schema_url(server_url: str) -> str:
    """A new schema in the run's database, migrated to head: one clean database per test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{server_url}?schema={schema}"


def end_connections(server_url: str, application_name: str) -> int:
    """Terminate the server processes of the connections named ``application_name`` (as a
    restart or an administrator would): how many there were."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                {"name": application_name},
            ).scalar_one()
    finally:
        admin.dispose()
    return int(ended)
