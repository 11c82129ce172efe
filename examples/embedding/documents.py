"""What both example applications share: the workflow they run, their own table, their users.

The application owns authentication (here a header naming a user) and its tables (here the
attachments uploaded with each step); the engine owns the workflow's tables and its rules.
"""

from __future__ import annotations

import sqlalchemy as sa

from workflow import Actor

REVIEW = """\
name: document_review
labels: {vi: Duyệt văn bản, en: Document review}
roles:
  writer: {vi: Người soạn, en: Writer}
  approver: {vi: Người duyệt, en: Approver}
fields:
  title: {type: text}
  verdict: {type: text}
states:
  draft: {initial: true}
  submitted: {}
  approved: {final: true}
transitions:
  - trigger: submit
    source: draft
    dest: submitted
    roles: [writer]
    guards: [{required: [title]}]
    effects: [{merge: [title]}]
  - trigger: return
    source: submitted
    dest: draft
    roles: [approver]
    require_reason: true
  - trigger: approve
    source: submitted
    dest: approved
    roles: [approver]
    effects: [{merge: [verdict]}]
"""

USERS = {
    "lan": Actor("lan", ["writer"], "van_phong"),
    "minh": Actor("minh", ["approver"], "van_phong"),
}

metadata = sa.MetaData()
attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("instance_id", sa.Integer, nullable=False),
    sa.Column("step", sa.String(50), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
)


def attach(conn: sa.Connection, instance_id: int, step: str, name: str) -> None:
    """The application's own write, in the same transaction as the step it belongs to."""
    conn.execute(sa.insert(attachments).values(instance_id=instance_id, step=step, name=name))


def attachment_names(db: sa.Engine, instance_id: int) -> list[str]:
    with db.connect() as conn:
        query = sa.select(attachments.c.name).where(attachments.c.instance_id == instance_id)
        return list(conn.execute(query.order_by(attachments.c.id)).scalars())
