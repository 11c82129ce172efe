"""A FastAPI application embedding the async engine.

Each step of a document's review is one transaction of the application's: the file attached to
the step (its own table) and the transition (the engine's rows: instance, audit event, outbox)
commit together or not at all. The buttons come from ``available_triggers``.

Run it with ``uvicorn examples.embedding.fastapi_app:app`` (``APP_DATABASE_URL`` names the
database, ``APP_WORKFLOW_SCHEMA`` the PostgreSQL schema of the engine's tables).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from workflow import (
    Actor,
    Clock,
    ConcurrentModification,
    Engine,
    GuardFailed,
    NotFound,
    PermissionDenied,
    WorkflowError,
)
from workflow.embedding import AsyncEngine

try:  # run as a module of the repository, or as a file beside documents.py
    from .documents import REVIEW, USERS, attach, metadata
except ImportError:
    from documents import REVIEW, USERS, attach, metadata  # type: ignore[no-redef]


class Step(BaseModel):
    payload: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
    attachment: str | None = None
    expected_version: int | None = None


def _status(error: WorkflowError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, ConcurrentModification):
        return 409
    return 422  # the rules refused: guard, state, unknown trigger, bad input


def create_app(
    database_url: str, *, schema: str | None = None, clock: Clock | None = None
) -> FastAPI:
    app_db = sa.create_engine(database_url)  # the application's engine: its pool, its settings
    metadata.create_all(app_db)
    setup = Engine.from_sqlalchemy(app_db, schema=schema, check_schema=False)
    setup.upgrade_schema()  # in production: `workflow db upgrade` when deploying
    engine = Engine.from_sqlalchemy(app_db, schema=schema, clock=clock)
    engine.deploy_text(REVIEW, filename="document_review.yaml")
    workflow = AsyncEngine(engine)
    app = FastAPI()

    @app.exception_handler(WorkflowError)
    async def refused(_request: Any, error: WorkflowError) -> JSONResponse:
        body: dict[str, Any] = {"error": type(error).__name__, "message": str(error)}
        if isinstance(error, GuardFailed):
            body["missing_fields"] = list(error.missing_fields)
        return JSONResponse(body, status_code=_status(error))

    def user(x_user: str) -> Actor:  # the application authenticates; the engine authorizes
        if x_user not in USERS:
            raise HTTPException(401, "unknown user")
        return USERS[x_user]

    @app.post("/documents", status_code=201)
    async def create(x_user: str = Header()) -> dict[str, Any]:
        started = await workflow.start("document_review", user(x_user), unit="van_phong")
        return {"id": started.instance.id, "state": started.instance.state}

    @app.get("/documents/{instance_id}/buttons")
    async def buttons(instance_id: int, x_user: str = Header()) -> dict[str, Any]:
        menu = await workflow.available_triggers(instance_id, user(x_user))
        return {
            "version": menu.instance.version,
            "buttons": [asdict(option) for option in menu.options],
        }

    @app.post("/documents/{instance_id}/{trigger}")
    async def step(
        instance_id: int, trigger: str, body: Step, x_user: str = Header()
    ) -> dict[str, Any]:
        actor = user(x_user)
        async with workflow.transaction() as tx:
            if body.attachment:
                name = body.attachment
                await tx.run(lambda conn: attach(conn, instance_id, trigger, name))
            result = await tx.fire(
                instance_id,
                trigger,
                actor,
                payload=body.payload,
                reason=body.reason,
                expected_version=body.expected_version,
            )
        return {"state": result.instance.state, "version": result.instance.version}

    app.state.workflow = workflow
    app.state.db = app_db
    return app


if os.environ.get("APP_DATABASE_URL"):
    app = create_app(os.environ["APP_DATABASE_URL"], schema=os.environ.get("APP_WORKFLOW_SCHEMA"))
