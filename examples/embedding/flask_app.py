"""A Flask application embedding the synchronous engine in its own transactions.

The same review as the FastAPI example: ``engine.begin()`` opens the application's transaction,
its own insert and the engine's fire (``within=conn``) commit together or not at all.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify, request

from workflow import Clock, Engine, NotFound, PermissionDenied, WorkflowError

try:  # run as a module of the repository, or as a file beside documents.py
    from .documents import REVIEW, USERS, attach, metadata
except ImportError:
    from documents import REVIEW, USERS, attach, metadata  # type: ignore[no-redef]


def create_app(
    database_url: str, *, schema: str | None = None, clock: Clock | None = None
) -> Flask:
    app_db = sa.create_engine(database_url)
    metadata.create_all(app_db)
    setup = Engine.from_sqlalchemy(app_db, schema=schema, check_schema=False)
    setup.upgrade_schema()  # in production: `workflow db upgrade` when deploying
    engine = Engine.from_sqlalchemy(app_db, schema=schema, clock=clock)
    engine.deploy_text(REVIEW, filename="document_review.yaml")
    app = Flask(__name__)

    @app.errorhandler(WorkflowError)
    def refused(error: WorkflowError) -> Any:
        status = (
            404
            if isinstance(error, NotFound)
            else 403
            if isinstance(error, PermissionDenied)
            else 422
        )
        return jsonify(error=type(error).__name__, message=str(error)), status

    def user() -> Any:
        return USERS[request.headers["X-User"]]

    @app.post("/documents")
    def create() -> Any:
        started = engine.start("document_review", user(), unit="van_phong")
        return jsonify(id=started.instance.id, state=started.instance.state), 201

    @app.get("/documents/<int:instance_id>/buttons")
    def buttons(instance_id: int) -> Any:
        menu = engine.available_triggers(instance_id, user())
        return jsonify(version=menu.instance.version, buttons=[asdict(o) for o in menu.options])

    @app.post("/documents/<int:instance_id>/<trigger>")
    def step(instance_id: int, trigger: str) -> Any:
        body = request.get_json(silent=True) or {}
        with engine.begin() as conn:
            if body.get("attachment"):
                attach(conn, instance_id, trigger, body["attachment"])
            result = engine.fire(
                instance_id,
                trigger,
                user(),
                payload=body.get("payload") or {},
                reason=body.get("reason"),
                within=conn,
            )
        return jsonify(state=result.instance.state, version=result.instance.version)

    app.config["WORKFLOW"] = engine
    app.config["DB"] = app_db
    return app
