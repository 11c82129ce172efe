"""The API and the web console see through one rule (``workflow.accounts.Sight``): for each
person, every instance is shown by both or refused (404) by both.

A real ``workflow serve`` on the demo database (19-CV/ĐUK played to 25/09/2020, one signed plan
waiting for the Office to archive it). Each person logs in to the console with its account and
calls the API with a token of the same actor: the Office's clerk (its unit coordinates an item
of 19-CV, so it oversees the directive), a clerk of the Office's roles in no unit (it sees only
what it may act on), a unit's secretary, and the Standing Committee's supervisor (it leads
items). Before the rule moved into the library the API refused the Office the units' plans
that the console showed it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from cli_runner import workflow_argv
from service_support import demo_database, free_port, wait_until_up

from workflow import Engine, Instance
from workflow.accounts import add_user, create_token

PASSWORD = "mat-khau-dung-chung"
STALLED = "db_van_phong_ubnd"
PEOPLE = {
    "office": "van_thu.van_phong",
    "unitless": "van_thu.khong_don_vi",
    "secretary": f"bi_thu.{STALLED}",
    "supervisor": "uy_vien_bch.phu_trach_khoi_dn",
}


@dataclass(frozen=True)
class Demo:
    base: str
    tokens: dict[str, str]
    instances: list[Instance]
    archiving: Instance
    """The archiving instance of one unit's plan, waiting for the Office."""


def _prepare(url: str) -> tuple[dict[str, str], list[Instance], Instance]:
    with Engine.open(url) as engine:
        engine.add_actor(PEOPLE["unitless"], ["office_clerk", "archivist"])
        waiting = engine.instances(workflow="signing", state="awaiting_signature")[0]
        secretary = engine.actor(f"bi_thu.{waiting.unit}")
        sign = {"document_number": "09-KH/ĐU", "signed_on": "2020-09-28", "signatory": "x"}
        engine.fire(waiting.id, "sign", secretary, payload=sign)
        archiving = engine.instances(workflow="archiving", unit=waiting.unit)[0]
        tokens = {}
        for name, actor in PEOPLE.items():
            add_user(engine, name, actor, PASSWORD, by="test")
            tokens[name] = create_token(engine, actor, expires=timedelta(days=1), by="t").secret
        return tokens, engine.instances(limit=1000), archiving


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    url, env = demo_database(tmp_path_factory.mktemp("sight"))
    tokens, instances, archiving = _prepare(url)
    port = free_port()
    server = subprocess.Popen(
        workflow_argv("--db", url, "serve", "--port", str(port)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        yield Demo(base, tokens, instances, archiving)
    finally:
        server.terminate()
        server.communicate(timeout=30)


@contextmanager
def _console(demo: Demo, name: str) -> Iterator[httpx.Client]:
    """A console session of ``name``, logged in through the login form."""
    with httpx.Client(base_url=demo.base, timeout=30) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        form = {"csrf": token.group(1), "name": name, "password": PASSWORD}
        answer = client.post("/login", data=form)
        assert answer.status_code == 303, answer.text
        yield client


@contextmanager
def _api(demo: Demo, name: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {demo.tokens[name]}"}
    with httpx.Client(base_url=f"{demo.base}/api/v1", headers=headers, timeout=30) as client:
        yield client


def _sample(demo: Demo) -> list[Instance]:
    """The archiving instance and, of each workflow, instances of a few units (the console's
    item page is a whole page: not every one of the demo's instances)."""
    chosen: dict[int, Instance] = {demo.archiving.id: demo.archiving}
    per_workflow: dict[str, int] = {}
    for instance in demo.instances:
        taken = per_workflow.get(instance.workflow, 0)
        if taken < 4 or instance.unit in (STALLED, "van_phong", demo.archiving.unit):
            chosen.setdefault(instance.id, instance)
            per_workflow[instance.workflow] = taken + 1
    return sorted(chosen.values(), key=lambda i: i.id)


@pytest.mark.parametrize("name", sorted(PEOPLE))
def test_the_api_and_the_console_show_and_refuse_the_same_instances(demo: Demo, name: str):
    shown_by: dict[str, set[int]] = {"console": set(), "api": set()}
    with _console(demo, name) as console, _api(demo, name) as api:
        for instance in _sample(demo):
            page = console.get(f"/instances/{instance.id}").status_code
            read = api.get(f"/instances/{instance.id}").status_code
            assert page in (200, 404), (instance.id, page)
            assert read in (200, 404), (instance.id, read)
            if page == 200:
                shown_by["console"].add(instance.id)
            if read == 200:
                shown_by["api"].add(instance.id)
    assert shown_by["console"] == shown_by["api"]
    assert shown_by["api"], f"{name} sees something"


def test_the_office_now_reads_through_the_api_the_units_items_the_console_showed(demo: Demo):
    """The Office oversees 19-CV: another unit's plan (refused by the API before) and the
    archiving it acts on; the listing holds the directive's items of every unit."""
    plan = next(
        i for i in demo.instances if i.workflow == "plan_drafting" and i.unit == STALLED
    )
    with _api(demo, "office") as api, _console(demo, "office") as console:
        assert api.get(f"/instances/{plan.id}").status_code == 200
        assert console.get(f"/instances/{plan.id}").status_code == 200
        assert api.get(f"/instances/{demo.archiving.id}/history").status_code == 200
        listed = api.get("/instances", params={"workflow": "plan_drafting", "limit": 1000})
        units = {item["unit"] for item in listed.json()["items"]}
        assert STALLED in units
        assert len(units) > 2


def test_one_who_only_acts_on_an_item_sees_that_item_and_not_its_units_others(demo: Demo):
    plan = next(
        i
        for i in demo.instances
        if i.workflow == "plan_drafting" and i.unit == demo.archiving.unit
    )
    with _api(demo, "unitless") as api, _console(demo, "unitless") as console:
        for client in (api, console):
            assert client.get(f"/instances/{demo.archiving.id}").status_code == 200
            assert client.get(f"/instances/{plan.id}").status_code == 404
        listed = api.get("/instances", params={"workflow": "plan_drafting"}).json()
        assert listed["items"] == []


def test_a_secretary_is_refused_another_units_plan_by_both(demo: Demo):
    other = next(
        i for i in demo.instances if i.workflow == "plan_drafting" and i.unit != STALLED
    )
    with _api(demo, "secretary") as api, _console(demo, "secretary") as console:
        assert api.get(f"/instances/{other.id}").status_code == 404
        assert console.get(f"/instances/{other.id}").status_code == 404
        fired = api.post(f"/instances/{other.id}/fire", json={"trigger": "submit"})
        assert fired.status_code == 404, "refused as missing, the plan's existence not told"
