"""The JSON API through a real server process on a loopback port, on SQLite and PostgreSQL:
each endpoint's answer and its refusals, unit isolation, tokens, ETag/If-Match, the audit event
of an API fire (actor and channel), server-sent events, and the OpenAPI document."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from openapi_spec_validator import validate

from workflow import Engine


def start(server, token: str = "a", **body: object) -> dict:
    with server.client(token) as client:
        answer = client.post("/api/v1/instances", json={"workflow": "ticket", **body})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_who_am_i_names_the_tokens_actor_and_channel(service_server):
    with service_server.client("a") as client:
        me = client.get("/api/v1/me").json()
    assert me == {
        "actor": "a1", "roles": ["clerk"], "unit": "A", "name": "Anna",
        "account": me["account"], "channel": "api",
    }  # fmt: skip
    assert me["account"].startswith("token:")


def test_an_account_authenticates_with_basic(service_server):
    seeded = service_server.seeded
    auth = (seeded.account, seeded.password)
    with service_server.client(None, auth=auth) as client:
        me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["account"] == "user:anna"
    assert me.json()["actor"] == "a1"


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "no credentials"),
        ({"Authorization": "Bearer wft_not-a-token"}, "unknown token"),
        ({"Authorization": "Bearer"}, "empty token"),
        ({"Authorization": "Token abc"}, "another scheme"),
    ],
)
def test_requests_without_valid_credentials_are_401(service_server, headers, why):
    answer = httpx.get(f"{service_server.base}/api/v1/instances", headers=headers)
    assert answer.status_code == 401, why
    assert answer.json()["type"] == "NotAuthenticated"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("which", ["revoked", "expired"])
def test_revoked_and_expired_tokens_are_refused(service_server, which):
    with service_server.client(which) as client:
        answer = client.get("/api/v1/me")
    assert answer.status_code == 401
    assert answer.json()["message"].startswith("not authenticated: unknown, expired or revoked")


def test_start_fire_and_the_audit_event_name_the_actor_and_the_api_channel(service_server):
    started = start(service_server, data={"amount": 5})
    instance = started["instance"]
    assert (instance["unit"], instance["state"], instance["version"]) == ("A", "open", 1)
    assert started["event"]["channel"] == "api"
    with service_server.client("a") as client:
        fired = client.post(
            f"/api/v1/instances/{instance['id']}/fire",
            json={"trigger": "submit", "payload": {"note": "ready"}},
        )
    assert fired.status_code == 200, fired.text
    assert fired.headers["ETag"] == '"2"'
    assert fired.json()["instance"]["state"] == "review"
    with Engine.open(service_server.seeded.url) as engine:
        last = engine.history(instance["id"])[-1]
        report = engine.verify()
    assert (last.actor, last.actor_unit, last.channel) == ("a1", "A", "api")
    assert report.ok, report.problems


def test_refusals_by_the_rules_are_typed(service_server):
    instance = start(service_server)["instance"]
    fire = f"/api/v1/instances/{instance['id']}/fire"
    with service_server.client("a") as client:
        guard = client.post(fire, json={"trigger": "submit"})
        not_here = client.post(fire, json={"trigger": "approve", "reason": "x"})
        unknown = client.post(fire, json={"trigger": "explode"})
        bad_value = client.post(fire, json={"trigger": "annotate", "payload": {"note": 5}})
        extra = client.post(fire, json={"trigger": "annotate", "surprise": 1})
    assert (guard.status_code, guard.json()["type"]) == (409, "GuardFailed")
    assert guard.json()["fields"]["missing_fields"] == ["note"]
    assert (not_here.status_code, not_here.json()["type"]) == (409, "TransitionNotAllowed")
    assert (unknown.status_code, unknown.json()["type"]) == (409, "UnknownTrigger")
    assert (bad_value.status_code, bad_value.json()["type"]) == (422, "InvalidInput")
    assert (extra.status_code, extra.json()["type"]) == (422, "RequestValidationError")
    assert {"type", "message", "fields"} == set(extra.json())


def test_a_token_of_unit_a_cannot_read_or_fire_unit_bs_items(service_server):
    of_b = start(service_server, "b")["instance"]
    path = f"/api/v1/instances/{of_b['id']}"
    with service_server.client("a") as client:
        read = client.get(path)
        history = client.get(f"{path}/history")
        fire = client.post(f"{path}/fire", json={"trigger": "annotate"})
        listed = client.get("/api/v1/instances", params={"limit": 1000}).json()
        elsewhere = client.post("/api/v1/instances", json={"workflow": "ticket", "unit": "B"})
    for answer in (read, history, fire):
        assert answer.status_code == 404, answer.text  # as if it did not exist
    assert of_b["id"] not in {i["id"] for i in listed["items"]}
    assert {i["unit"] for i in listed["items"]} <= {"A", None}
    assert elsewhere.status_code == 403
    with service_server.client("auditor") as client:
        assert client.get(path).status_code == 200  # an auditor reads every unit
        # ... but fires only what its roles allow (annotate is a clerk's of the unit)
        assert client.post(f"{path}/fire", json={"trigger": "annotate"}).status_code == 403
    with Engine.open(service_server.seeded.url) as engine:
        assert engine.get(of_b["id"]).version == 1  # nothing was fired


def test_a_refusal_on_an_instance_the_caller_may_not_see_is_404_whatever_it_was(service_server):
    """The fire reads the token and fires in one transaction and asks visibility only when
    refused: a refusal that would tell something (a guard naming a missing field, a stale
    version, an unknown trigger) is still a 404 on another unit's instance."""
    of_b = start(service_server, "b")["instance"]
    fire = f"/api/v1/instances/{of_b['id']}/fire"
    with service_server.client("a") as client:
        answers = [
            client.post(fire, json={"trigger": "submit"}),
            client.post(fire, json={"trigger": "annotate"}, headers={"If-Match": '"9"'}),
            client.post(fire, json={"trigger": "explode"}),
            client.post("/api/v1/instances/999999999/fire", json={"trigger": "annotate"}),
        ]
    assert [(a.status_code, a.json()["type"]) for a in answers] == [(404, "NotFound")] * 4
    assert len({a.json()["message"].replace("999999999", str(of_b["id"])) for a in answers}) == 1


@pytest.mark.parametrize("which", ["revoked", "expired"])
def test_a_revoked_or_expired_token_fires_nothing(service_server, which):
    instance = start(service_server)["instance"]
    with service_server.client(which) as client:
        answer = client.post(
            f"/api/v1/instances/{instance['id']}/fire", json={"trigger": "annotate"}
        )
    assert (answer.status_code, answer.json()["type"]) == (401, "NotAuthenticated")
    with Engine.open(service_server.seeded.url) as engine:
        assert engine.get(instance["id"]).version == 1


def test_an_account_fires_with_basic_and_the_event_names_its_actor(service_server):
    seeded = service_server.seeded
    instance = start(service_server)["instance"]
    with service_server.client(None, auth=(seeded.account, seeded.password)) as client:
        fired = client.post(
            f"/api/v1/instances/{instance['id']}/fire",
            json={"trigger": "annotate", "payload": {"note": "by hand"}},
        )
    assert fired.status_code == 200, fired.text
    event = fired.json()["event"]
    assert (event["actor"], event["channel"]) == ("a1", "api")


def test_a_unit_sees_the_instances_it_coordinates(service_server):
    shared = start(service_server, "b", coordinating_units=["A"])["instance"]
    with service_server.client("a") as client:
        assert client.get(f"/api/v1/instances/{shared['id']}").status_code == 200
        ids = {i["id"] for i in client.get("/api/v1/instances").json()["items"]}
    assert shared["id"] in ids


def test_etag_and_if_match_race_gives_one_200_and_one_412(service_server):
    instance = start(service_server)["instance"]
    with service_server.client("a") as client:
        seen = client.get(f"/api/v1/instances/{instance['id']}")
    etag = seen.headers["ETag"]
    assert etag == '"1"'
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(2)

    def fire(note: str) -> None:
        with service_server.client("a") as client:
            barrier.wait()
            answers.append(
                client.post(
                    f"/api/v1/instances/{instance['id']}/fire",
                    json={"trigger": "annotate", "payload": {"note": note}},
                    headers={"If-Match": etag},
                )
            )

    threads = [threading.Thread(target=fire, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 412]
    stale = next(a for a in answers if a.status_code == 412).json()
    assert stale["type"] == "StaleVersion"
    assert stale["fields"]["expected"] == 1


def test_if_match_with_a_stale_or_malformed_version(service_server):
    instance = start(service_server)["instance"]
    fire = f"/api/v1/instances/{instance['id']}/fire"
    with service_server.client("a") as client:
        stale = client.post(fire, json={"trigger": "annotate"}, headers={"If-Match": '"9"'})
        bad = client.post(fire, json={"trigger": "annotate"}, headers={"If-Match": "yesterday"})
        fresh = client.post(fire, json={"trigger": "annotate"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert (bad.status_code, bad.json()["type"]) == (400, "BadRequest")
    assert fresh.status_code == 200


def test_idempotency_key_replays_the_first_result(service_server):
    instance = start(service_server)["instance"]
    fire = f"/api/v1/instances/{instance['id']}/fire"
    body = {"trigger": "annotate", "payload": {"note": "n"}, "idempotency_key": "k-api-1"}
    with service_server.client("a") as client:
        first = client.post(fire, json=body).json()
        again = client.post(fire, json=body).json()
        other = client.post(fire, json={**body, "payload": {"note": "m"}})
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["event"]["seq"] == first["event"]["seq"]
    assert (other.status_code, other.json()["type"]) == (422, "IdempotencyKeyReused")


def test_history_and_history_at_an_instant(service_server):
    instance = start(service_server)["instance"]
    path = f"/api/v1/instances/{instance['id']}"
    with service_server.client("a") as client:
        client.post(f"{path}/fire", json={"trigger": "annotate", "payload": {"note": "x"}})
        events = client.get(f"{path}/history").json()
        then = client.get(f"{path}/history", params={"at": events[0]["occurred_at"]}).json()
        bad = client.get(f"{path}/history", params={"at": "not a time"})
        before = client.get(f"{path}/history", params={"at": "2000-01-01T00:00:00Z"})
    assert [e["seq"] for e in events] == [1, 2]
    assert [e["channel"] for e in events] == ["api", "api"]
    assert (then["state"], then["version"], then["data"]) == ("open", 1, {})
    assert bad.status_code == 422
    assert before.status_code == 422


def test_listing_filters_and_pages(service_server):
    for _ in range(3):
        start(service_server, data={"amount": 1})
    with service_server.client("a") as client:
        page = client.get("/api/v1/instances", params={"limit": 2, "state": "open"}).json()
        following = client.get(
            "/api/v1/instances", params={"limit": 2, "before_id": page["next_before_id"]}
        ).json()
        none = client.get("/api/v1/instances", params={"workflow": "nothing"}).json()
        bad = client.get("/api/v1/instances", params={"limit": 0})
    assert len(page["items"]) == 2
    assert page["total"] >= 3
    assert all(i["id"] < page["next_before_id"] for i in following["items"])
    assert none == {"items": [], "total": 0, "next_before_id": None}
    assert bad.status_code == 422


def test_definitions_list_show_and_graph(service_server):
    with service_server.client("b") as client:
        listed = client.get("/api/v1/definitions").json()
        shown = client.get("/api/v1/definitions/ticket").json()
        graph = client.get("/api/v1/definitions/ticket/graph", params={"format": "dot"}).json()
        missing = client.get("/api/v1/definitions/nothing")
    assert [(d["workflow"], d["version"]) for d in listed] == [("ticket", 1)]
    assert set(listed[0]) >= {"content_hash", "deployed_at", "deployed_by", "live_instances"}
    assert [s["name"] for s in shown["states"]] == ["open", "review", "done"]
    assert graph["diagram"].startswith("digraph")
    assert (missing.status_code, missing.json()["type"]) == (404, "NotFound")


def test_audit_verify_and_export_are_for_auditors(service_server):
    with service_server.client("a") as client:
        assert client.get("/api/v1/audit/verify").status_code == 403
        assert client.get("/api/v1/audit/export").status_code == 403
    start(service_server)
    with service_server.client("auditor") as client:
        verified = client.get("/api/v1/audit/verify").json()
        exported = client.get("/api/v1/audit/export", params={"filename": "all.jsonl"})
    assert verified["ok"] is True
    assert verified["admin_events"] >= 8
    assert exported.headers["content-disposition"] == 'attachment; filename="all.jsonl"'
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert lines[0]["record"] == "header"
    events = [r for r in lines if r["record"] == "event"]
    assert len(events) == verified["events"]
    assert {"api"} <= {e["channel"] for e in events}


def test_the_openapi_document_validates_and_docs_render_without_scripts(service_server):
    document = httpx.get(f"{service_server.base}/openapi.json").json()
    validate(document)
    paths = set(document["paths"])
    assert {"/api/v1/instances", "/api/v1/instances/{instance_id}/fire", "/api/v1/events"} <= paths
    page = httpx.get(f"{service_server.base}/docs")
    assert page.status_code == 200
    assert "/api/v1/instances/{instance_id}/fire" in page.text
    assert "<script" not in page.text


def test_the_fire_is_described_as_any_route_though_it_reads_its_request_itself(service_server):
    """The fire's handler parses its request by hand (docs/performance.md); its operation in
    the document still names the integer id, If-Match, the body's and the answer's schemas,
    the refusals and both kinds of credentials."""
    document = httpx.get(f"{service_server.base}/openapi.json").json()
    fire = document["paths"]["/api/v1/instances/{instance_id}/fire"]["post"]
    parameters = {(p["in"], p["name"]): p for p in fire["parameters"]}
    assert parameters[("path", "instance_id")]["schema"]["type"] == "integer"
    assert parameters[("header", "if-match")]["required"] is False
    body = fire["requestBody"]["content"]["application/json"]["schema"]
    answer = fire["responses"]["200"]["content"]["application/json"]["schema"]
    assert (body["$ref"], answer["$ref"]) == (
        "#/components/schemas/FireBody", "#/components/schemas/FireOut",
    )  # fmt: skip
    assert {"401", "403", "404", "409", "412", "415", "422"} <= set(fire["responses"])
    schemes = document["components"]["securitySchemes"]
    assert {schemes[name]["scheme"] for way in fire["security"] for name in way} == {
        "bearer", "basic",
    }  # fmt: skip


def test_a_fire_refuses_every_wrong_value_at_once_located_as_fastapi_does(service_server):
    with service_server.client("a") as client:
        answer = client.post(
            "/api/v1/instances/abc/fire", json={"trigger": 7, "payload": [], "surprise": 1}
        )
    assert (answer.status_code, answer.json()["type"]) == (422, "RequestValidationError")
    located = {tuple(e["loc"]) for e in answer.json()["fields"]["errors"]}
    assert located == {
        ("path", "instance_id"), ("body", "trigger"), ("body", "payload"), ("body", "surprise"),
    }  # fmt: skip


def test_a_fire_refused_in_its_worker_thread_speaks_the_language_asked_for(service_server):
    instance = start(service_server)["instance"]
    with service_server.client("a") as client:
        vi, en = (
            client.post(
                f"/api/v1/instances/{instance['id']}/fire",
                json={"trigger": "approve"},
                headers={"Accept-Language": language},
            ).json()
            for language in ("vi", "en")
        )
    assert vi["type"] == en["type"] == "TransitionNotAllowed"
    assert vi["message"] != en["message"]


def test_server_sent_events_carry_only_visible_committed_transitions(service_server):
    """A stream opened by unit A sees A's start and fire, and none of B's."""
    with (
        service_server.client("a") as client,
        client.stream("GET", "/api/v1/events", headers={"Last-Event-ID": "0"}) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        of_b = start(service_server, "b")["instance"]
        mine = start(service_server, "a")["instance"]
        seen = []
        for line in stream.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                seen.append(event)
                if event["instance_id"] == mine["id"]:
                    break
    assert all(e["unit"] in ("A", None) or "A" in e["coordinating_units"] for e in seen)
    assert of_b["id"] not in {e["instance_id"] for e in seen}
    assert seen[-1]["topic"] == "ticket.start.open"


def test_triggers_say_what_the_caller_may_fire_now_and_why_not(service_server):
    instance = start(service_server)["instance"]
    path = f"/api/v1/instances/{instance['id']}/triggers"
    with service_server.client("a") as client:
        mine = client.get(path)
    with service_server.client("auditor") as client:
        theirs = client.get(path).json()
    with service_server.client("b") as client:
        hidden = client.get(path)
    assert mine.headers["ETag"] == '"1"'
    menu = mine.json()
    assert menu["allowed"] == ["annotate"]
    by_name = {t["trigger"]: t for t in menu["triggers"]}
    assert by_name["submit"]["closed_by"] == "guard"
    assert by_name["submit"]["missing_fields"] == ["note"]
    assert by_name["approve"]["closed_by"] == "state"
    assert theirs["allowed"] == []  # an auditor reads, its roles fire nothing here
    assert hidden.status_code == 404


def test_errors_speak_the_language_asked_for(service_server):
    with service_server.client("a") as client:
        missing = client.get(
            "/api/v1/definitions/nothing", headers={"Accept-Language": "vi-VN,vi;q=0.9"}
        ).json()
        english = client.get(
            "/api/v1/definitions/nothing", headers={"Accept-Language": "en"}
        ).json()
    assert english["message"] != missing["message"]
    assert missing["type"] == english["type"] == "NotFound"
