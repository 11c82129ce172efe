"""Two versions of a small review workflow, shared by the versioning and migration tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from workflow import Engine
from workflow.store.tables import admin_events, audit_events, instances, outbox, timers

REVIEW_V1 = """\
name: review_flow
labels: {vi: Duyệt văn bản, en: Document review}
roles:
  drafter: {vi: Người soạn, en: Drafter}
  reviewer: {vi: Người duyệt, en: Reviewer}
fields:
  title: {type: string}
states:
  draft: {initial: true}
  review:
    timers:
      - {trigger: remind, after: P3D}
  approved: {final: true}
transitions:
  - {trigger: submit, source: draft, dest: review, roles: [drafter]}
  - {trigger: remind, source: review, dest: review, roles: [system]}
  - {trigger: approve, source: review, dest: approved, roles: [reviewer]}
"""

# review is renamed checking (with a longer reminder); submitting now needs a summary; a
# reviewer can send a document back for revision.
REVIEW_V2 = """\
name: review_flow
labels: {vi: Duyệt văn bản, en: Document review}
roles:
  drafter: {vi: Người soạn, en: Drafter}
  reviewer: {vi: Người duyệt, en: Reviewer}
fields:
  title: {type: string}
  summary: {type: text}
states:
  draft: {initial: true}
  checking:
    timers:
      - {trigger: remind, after: P5D}
  revising: {}
  approved: {final: true}
transitions:
  - trigger: submit
    source: [draft, revising]
    dest: checking
    roles: [drafter]
    guards:
      - required: [summary]
    effects:
      - merge: [summary]
  - {trigger: remind, source: checking, dest: checking, roles: [system]}
  - {trigger: request_changes, source: checking, dest: revising, roles: [reviewer]}
  - {trigger: approve, source: checking, dest: approved, roles: [reviewer, drafter]}
"""

# review is kept but can no longer be reminded: v1's pending reminders would be stranded.
REVIEW_V3 = """\
name: review_flow
labels: {vi: Duyệt văn bản, en: Document review}
roles:
  drafter: {vi: Người soạn, en: Drafter}
  reviewer: {vi: Người duyệt, en: Reviewer}
fields:
  title: {type: string}
states:
  draft: {initial: true}
  review:
    timers:
      - {trigger: escalate, after: P7D}
  escalated: {}
  approved: {final: true}
transitions:
  - {trigger: submit, source: draft, dest: review, roles: [drafter]}
  - {trigger: escalate, source: review, dest: escalated, roles: [system]}
  - {trigger: approve, source: [review, escalated], dest: approved, roles: [reviewer]}
"""


def snapshot(engine: Engine) -> dict[str, list[Any]]:
    """Every row a migration could touch, to prove that a refusal changed nothing."""
    with engine.db.connect() as conn:
        return {
            table.name: [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]
            for table in (instances, audit_events, timers, outbox, admin_events)
        }


def timer_rows(engine: Engine, instance_id: int) -> list[tuple[str, str, str]]:
    with engine.db.connect() as conn:
        return [
            (r.state, r.trigger, r.status)
            for r in conn.execute(
                select(timers).where(timers.c.instance_id == instance_id).order_by(timers.c.id)
            )
        ]


def admin_actions(engine: Engine) -> list[tuple[str, str]]:
    with engine.db.connect() as conn:
        return [
            (r.action, r.subject)
            for r in conn.execute(select(admin_events).order_by(admin_events.c.seq))
        ]
