"""Hostile HTTP input against a real server process, on SQLite and PostgreSQL: oversized and
streamed bodies, bodies that are not JSON objects or not JSON, wrong content types, path
traversal in export names and paths, header injection, 10,000 wrong passwords. Each gets a typed
JSON answer, nothing is written, and the server keeps serving."""

from __future__ import annotations

import base64
import itertools
import os
import socket
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from workflow import Engine

ATTEMPTS = int(os.environ.get("WORKFLOW_TEST_WRONG_PASSWORDS", "10000"))


def counts(server) -> tuple[int, int]:
    """(audit events, administrators' log events) in the server's database."""
    with Engine.open(server.seeded.url) as engine:
        report = engine.verify()
    assert report.ok, report.problems
    return report.events, report.admin_events or 0


@pytest.fixture
def unchanged(service_server) -> Iterator[None]:
    """The test writes nothing: the log has the same events after it, and verifies."""
    before = counts(service_server)
    yield
    assert counts(service_server) == before
    assert service_server.alive()


def pipelined(base: str, requests: Iterator[str], batch: int = 200) -> Iterator[int]:
    """The status of each request, sent pipelined on one connection ``batch`` at a time: the
    flood costs the client next to nothing, so the test measures the server's refusals."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        reader = sock.makefile("rb")
        while chunk := list(itertools.islice(requests, batch)):
            sock.sendall("".join(chunk).encode())
            for _ in chunk:
                status = int(reader.readline().split()[1])
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                reader.read(length)
                yield status


def typed(answer: httpx.Response, status: int, kind: str) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"type", "message", "fields"}
    assert body["type"] == kind
    assert "Traceback" not in body["message"]
    return body


@pytest.mark.usefixtures("unchanged")
def test_bodies_that_are_too_large_are_413_declared_or_streamed(service_server):
    instance = 1
    big = b'{"trigger": "annotate", "payload": {"note": "' + b"x" * (2 << 20) + b'"}}'
    headers = {"Content-Type": "application/json"}
    with service_server.client("a") as client:
        declared = client.post(f"/api/v1/instances/{instance}/fire", content=big, headers=headers)

        def chunks() -> Iterator[bytes]:
            for _ in range(40):
                yield b" " * 65536  # 2.5 MiB, never declared

        streamed = client.post(
            f"/api/v1/instances/{instance}/fire", content=chunks(), headers=headers
        )
    typed(declared, 413, "InputTooLarge")
    assert streamed.status_code == 413


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("content", "content_type", "status", "kind"),
    [
        (b"not json", "application/json", 400, "BadRequest"),
        (b"[1, 2]", "application/json", 400, "BadRequest"),
        (b'"annotate"', "application/json", 400, "BadRequest"),
        (b"\xff\xfe{}", "application/json", 400, "BadRequest"),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400, "BadRequest"),
        (b'{"trigger": "annotate", "payload": {"n": ' + b"9" * 5000 + b"}}",
         "application/json", 400, "BadRequest"),
        (b'{"trigger": "annotate", "payload": {"n": NaN}}', "application/json", 400, "BadRequest"),
        (b'{"trigger": "annotate"}', "text/plain", 415, "UnsupportedMediaType"),
        (b"trigger=annotate", "application/x-www-form-urlencoded", 415, "UnsupportedMediaType"),
        (b'{"trigger": "annotate"}', "", 415, "UnsupportedMediaType"),
        (b'{"trigger": 7}', "application/json", 422, "RequestValidationError"),
        (b'{"trigger": "annotate", "payload": []}', "application/json", 422,
         "RequestValidationError"),
    ],
    ids=["not-json", "array", "string", "not-utf8", "deep", "long-integer", "nan", "text",
         "form", "no-type", "wrong-type", "payload-array"],
)  # fmt: skip
def test_bodies_that_are_not_a_json_object_are_refused(
    service_server, content, content_type, status, kind
):
    with service_server.client("a") as client:
        answer = client.post(
            "/api/v1/instances/1/fire", content=content, headers={"Content-Type": content_type}
        )
    typed(answer, status, kind)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..", "a/b.jsonl", ".hidden", "a\r\nSet-Cookie: owned=1", "x" * 200,
     "a\\b", "%2e%2e%2fetc"],
    ids=["traversal", "dotdot", "slash", "hidden", "crlf", "long", "backslash", "encoded"],
)  # fmt: skip
def test_export_names_cannot_traverse_or_inject_headers(service_server, name):
    with service_server.client("auditor") as client:
        answer = client.get("/api/v1/audit/export", params={"filename": name})
    typed(answer, 400, "BadRequest")
    assert "set-cookie" not in answer.headers
    assert "content-disposition" not in answer.headers


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/../../etc/passwd", 404),
        ("/api/v1/definitions/..%2F..%2Fetc%2Fpasswd", 404),
        ("/api/v1/instances/99999999999999999999", 404),  # no database holds it
        ("/api/v1/instances/-1", 404),
        ("/api/v1/instances/abc", 422),
        ("/api/v1/nothing", 404),
    ],
)
def test_odd_paths_get_typed_answers(service_server, path, status):
    with service_server.client("a") as client:
        answer = client.get(path)
    assert answer.status_code == status, answer.text
    assert set(answer.json()) == {"type", "message", "fields"}


@pytest.mark.usefixtures("unchanged")
def test_malformed_headers_are_400(service_server):
    instance = 1
    with service_server.client("a") as client:
        if_match = client.post(
            f"/api/v1/instances/{instance}/fire",
            json={"trigger": "annotate"},
            headers={"If-Match": '"1"; drop table'},
        )
        last_id = client.get("/api/v1/events", headers={"Last-Event-ID": "1; x"})
        wrong_method = client.delete(f"/api/v1/instances/{instance}")
    basic = httpx.get(
        f"{service_server.base}/api/v1/me", headers={"Authorization": "Basic !!!notbase64"}
    )
    typed(if_match, 400, "BadRequest")
    typed(last_id, 400, "BadRequest")
    typed(wrong_method, 405, "MethodNotAllowed")
    typed(basic, 400, "BadRequest")


@pytest.mark.usefixtures("unchanged")
def test_a_flood_of_wrong_passwords_is_throttled_and_writes_nothing(service_server):
    """The first failures for an account are checked, then every attempt is 429 with
    Retry-After, the right password included, before any hashing; nothing is written; others
    are served meanwhile. The flood comes from a client of its own (as a proxy names it)."""
    seeded = service_server.seeded
    client_address = {"X-Forwarded-For": "203.0.113.7"}

    def basic(name: str, password: str) -> dict[str, str]:
        token = base64.b64encode(f"{name}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}", **client_address}

    requests = (
        f"GET /api/v1/me HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.7\r\n"
        f"Authorization: {basic(seeded.guessed, f'guess-{attempt}')['Authorization']}\r\n\r\n"
        for attempt in range(ATTEMPTS)
    )
    statuses = Counter(pipelined(service_server.base, requests))
    with httpx.Client(base_url=service_server.base, timeout=30) as client:
        throttled = client.get("/api/v1/me", headers=basic(seeded.guessed, seeded.password))
        names = [client.get("/api/v1/me", headers=basic(f"n{i}", "wrong-pw")) for i in range(20)]
    assert sum(statuses.values()) == ATTEMPTS
    assert set(statuses) == {401, 429}
    assert statuses[401] == 5  # the account's budget
    body = typed(throttled, 429, "LoginThrottled")
    assert int(throttled.headers["Retry-After"]) == body["fields"]["retry_after"] > 0
    # ... and the client's: 5 failures for that account and 15 other names, then 429 for any
    assert [a.status_code for a in names] == [401] * 15 + [429] * 5
    with service_server.client("b") as client:
        assert client.get("/api/v1/me").status_code == 200  # tokens are served meanwhile
