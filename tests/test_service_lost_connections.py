"""The service's pool lends a connection without pinging it first (``workflow.service.
DATABASE_OPTIONS``): each request's first read, its credentials', is the check. Through a real
``workflow serve`` on PostgreSQL whose connections the database ended (as a restart or an
administrator would), every kind of request is still answered, and a fire is applied once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from service_support import Server, running_server, seed
from support import end_connections, postgres_schema_url

from workflow import Engine


@dataclass
class Served:
    server: Server
    postgres: str
    name: str
    """The application name the server's connections carry, to end them by."""

    def end_connections(self) -> None:
        assert end_connections(self.postgres, self.name) >= 1  # there were some to end


@pytest.fixture(scope="module")
def served(postgres_server_url: str) -> Iterator[Served]:
    name = f"svc_{uuid.uuid4().hex[:8]}"
    url = f"{postgres_schema_url(postgres_server_url)}&application_name={name}"
    with Engine(url, check_schema=False) as setup:
        setup.upgrade_schema()
    with running_server(url, seed(url)) as server:
        yield Served(server, postgres_server_url, name)


def _start(served: Served) -> int:
    with served.server.client("a") as client:
        answer = client.post("/api/v1/instances", json={"workflow": "ticket"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["instance"]["id"])


def test_a_token_read_on_an_ended_connection_is_answered_on_a_new_one(served: Served) -> None:
    instance_id = _start(served)  # the pool holds connections now
    served.end_connections()
    with served.server.client("a") as client:
        answer = client.get(f"/api/v1/instances/{instance_id}")
    assert answer.status_code == 200, answer.text


def test_a_basic_login_on_an_ended_connection_is_answered_on_a_new_one(served: Served) -> None:
    _start(served)
    served.end_connections()
    seeded = served.server.seeded
    with served.server.client(None, auth=(seeded.account, seeded.password)) as client:
        answer = client.get("/api/v1/me")
    assert answer.status_code == 200, answer.text
    assert answer.json()["account"] == f"user:{seeded.account}"


def test_a_fire_on_an_ended_connection_is_applied_once_on_a_new_one(served: Served) -> None:
    instance_id = _start(served)
    served.end_connections()
    with served.server.client("a") as client:
        fired = client.post(
            f"/api/v1/instances/{instance_id}/fire",
            json={"trigger": "annotate", "payload": {"note": "after the restart"}},
        )
    assert fired.status_code == 200, fired.text
    assert fired.json()["instance"]["version"] == 2
    with Engine.open(served.server.seeded.url) as engine:
        history = engine.history(instance_id)
    assert [e.trigger for e in history][1:] == ["annotate"]  # applied once
