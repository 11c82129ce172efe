"""The JSON documents of the API, as pydantic models (the OpenAPI document is built from them).

An instance, an audit event and a deployed definition are the library's own records
(:class:`~workflow.Instance`, :class:`~workflow.AuditEvent`, :class:`~workflow.DeployedDefinition`,
frozen dataclasses pydantic reads as they are): their fields are declared once, in
``workflow.records``, and the API shows every one of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workflow import AuditEvent, Instance, TriggerMenu
from workflow.accounts import Principal


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartBody(_Strict):
    workflow: str = Field(description="The workflow to start (its newest startable version).")
    data: dict[str, Any] = Field(default_factory=dict, description="Initial data.")
    unit: str | None = Field(
        default=None, description="The instance's unit; the caller's own unit when omitted."
    )
    coordinating_units: list[str] = Field(default_factory=list)
    idempotency_key: str | None = Field(
        default=None, description="Sent again with the same request, returns the first result."
    )


class FireBody(_Strict):
    trigger: str
    payload: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
    idempotency_key: str | None = Field(
        default=None, description="Sent again with the same request, returns the first result."
    )


class InstancePage(BaseModel):
    items: list[Instance]
    total: int = Field(description="How many instances match the filters (and may be seen).")
    next_before_id: int | None = Field(description="Pass as before_id for the next page.")


class FireOut(BaseModel):
    instance: Instance
    event: AuditEvent
    replayed: bool


class SnapshotOut(BaseModel):
    instance_id: int
    at: datetime
    state: str
    data: dict[str, Any]
    version: int


class MeOut(BaseModel):
    actor: str
    roles: list[str]
    unit: str | None
    name: str | None
    account: str
    channel: str

    @classmethod
    def of(cls, principal: Principal) -> MeOut:
        return cls(
            actor=principal.actor.id,
            roles=sorted(principal.actor.roles),
            unit=principal.actor.unit,
            name=principal.display_name,
            account=principal.account,
            channel=principal.channel,
        )


class GraphOut(BaseModel):
    workflow: str
    version: int
    format: str
    diagram: str


class ProblemOut(BaseModel):
    instance_id: int
    seq: int | None
    problem: str


class VerifyOut(BaseModel):
    ok: bool
    chains: int
    events: int
    admin_events: int | None
    keyed_events: int
    unkeyed_events: int
    problems: list[ProblemOut]


class ErrorOut(BaseModel):
    type: str = Field(description="The error class, e.g. GuardFailed, NotFound.")
    message: str
    fields: dict[str, Any] = Field(description="The error's facts: missing_fields, instance_id...")


class TriggerOut(BaseModel):
    trigger: str
    allowed: bool
    closed_by: str | None = Field(description="null when allowed; else state, role, unit, guard")
    reasons: list[str]
    missing_fields: list[str]
    dest: str | None
    requires_reason: bool


class TriggersOut(BaseModel):
    instance_id: int
    state: str
    version: int = Field(description="Send as If-Match when firing one of them.")
    allowed: list[str]
    triggers: list[TriggerOut]

    @classmethod
    def of(cls, menu: TriggerMenu) -> TriggersOut:
        return cls(
            instance_id=menu.instance.id,
            state=menu.instance.state,
            version=menu.instance.version,
            allowed=list(menu.allowed),
            triggers=[
                TriggerOut(
                    trigger=o.trigger,
                    allowed=o.allowed,
                    closed_by=o.closed_by,
                    reasons=list(o.reasons),
                    missing_fields=list(o.missing_fields),
                    dest=o.dest,
                    requires_reason=o.requires_reason,
                )
                for o in menu.options
            ],
        )
