"""The embedding examples run as written: a FastAPI application on the async engine and a Flask
application on the sync one, each writing its own table in the transaction of each step (on
both backends, the engine's tables in their own schema on PostgreSQL); and an application's
own test using the pytest plugin's fixtures, in a pytest of its own."""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from workflow import FrozenClock

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "embedding"


def _example(name: str) -> ModuleType:
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.fixture
def places(database_url: str) -> Iterator[tuple[str, str | None]]:
    """(the application's URL, the engine's schema): on PostgreSQL the application's tables in
    a schema of their own, the engine's in the test's schema; on SQLite one file for both."""
    url = make_url(database_url)
    schema = url.query.get("schema")
    if schema is None:
        yield database_url, None
        return
    assert isinstance(schema, str)
    own = f"app_{uuid.uuid4().hex[:10]}"
    base = url.difference_update_query(["schema"])
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{own}"'))
    admin.dispose()
    app_url = base.update_query_dict({"options": f"-csearch_path={own}"})
    yield app_url.render_as_string(hide_password=False), schema


def _review(client: Any, documents: ModuleType, db: sa.Engine) -> None:
    """The same story through either application's HTTP API."""
    lan, minh = {"X-User": "lan"}, {"X-User": "minh"}
    created = client.post("/documents", headers=lan)
    assert created.status_code == 201
    doc = _json(created)["id"]
    buttons = _json(client.get(f"/documents/{doc}/buttons", headers=lan))["buttons"]
    submit = next(b for b in buttons if b["trigger"] == "submit")
    assert (submit["allowed"], submit["missing_fields"]) == (False, ["title"])
    # refused by its guard: the attachment sent with it is not kept either
    refused = client.post(f"/documents/{doc}/submit", headers=lan, json={"attachment": "a.pdf"})
    assert refused.status_code == 422
    assert documents.attachment_names(db, doc) == []
    done = client.post(
        f"/documents/{doc}/submit",
        headers=lan,
        json={"payload": {"title": "Kế hoạch"}, "attachment": "plan.pdf"},
    )
    assert _json(done) == {"state": "submitted", "version": 2}
    assert documents.attachment_names(db, doc) == ["plan.pdf"]
    denied = client.post(f"/documents/{doc}/approve", headers=lan, json={})
    assert denied.status_code == 403
    approved = client.post(f"/documents/{doc}/approve", headers=minh, json={"attachment": "ok.pdf"})
    assert _json(approved)["state"] == "approved"
    assert documents.attachment_names(db, doc) == ["plan.pdf", "ok.pdf"]


def _json(response: Any) -> Any:
    return response.json() if callable(getattr(response, "json", None)) else response.get_json()


def test_the_fastapi_example(places: tuple[str, str | None], clock: FrozenClock) -> None:
    from fastapi.testclient import TestClient

    documents = _example("documents")
    app = _example("fastapi_app").create_app(places[0], schema=places[1], clock=clock)
    with TestClient(app) as client:
        _review(client, documents, app.state.db)
    assert app.state.workflow.sync.verify().ok
    app.state.db.dispose()


def test_the_flask_example(places: tuple[str, str | None], clock: FrozenClock) -> None:
    documents = _example("documents")
    app = _example("flask_app").create_app(places[0], schema=places[1], clock=clock)
    _review(app.test_client(), documents, app.config["DB"])
    assert app.config["WORKFLOW"].verify().ok
    app.config["DB"].dispose()


def test_an_applications_own_test_runs_with_the_plugin(tmp_path: Path) -> None:
    """The example's test, in a pytest of its own: the plugin is found through its entry point."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(EXAMPLES / "test_review.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
