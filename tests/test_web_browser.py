"""The web console in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium against a real ``workflow serve`` on the demo database.

One server and one browser for the whole module (each test logs in as its person). The demo
plays 19-CV/ĐUK to 25/09/2020; before the server starts, the secretary of the unit whose plan
was approved but never signed signs it, so the Office has a plan to archive; and the stalled
unit records a dissemination whose method is a ``<script>``. Screenshots of the inbox, the
dashboard, the item page and the audit page go to ``WORKFLOW_WEB_SCREENSHOTS`` when it is set
(docs/screenshots/ holds the committed ones), else to the test's temporary folder.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from service_support import demo_database

from workflow import Actor, Engine
from workflow.accounts import add_user

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)

HOSTILE = "<script>document.title='pwned'</script>"
PASSWORDS = {"vanthu": "mat-khau-van-thu", "bithu": "mat-khau-bi-thu", "kiemtoan": "mat-khau-kt"}
STALLED = "db_van_phong_ubnd"  # the demo's unit that never submits its plan: overdue
SHOTS = os.environ.get("WORKFLOW_WEB_SCREENSHOTS")


@dataclass(frozen=True)
class Site:
    base: str
    url: str
    archiving: int
    """The archiving instance waiting for the Office."""
    archiving_unit: str
    other_plan: int
    """A plan of another unit than the secretary's."""
    own_plan: int
    hostile: int
    """The stalled unit's dissemination, its method a script."""
    shots: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prepare(url: str) -> tuple[int, str, int, int, int]:
    with Engine.open(url) as engine:
        engine.add_actor("kiem_toan", ["auditor"], name="Kiểm toán viên")
        add_user(engine, "vanthu", "van_thu.van_phong", PASSWORDS["vanthu"], by="test")
        add_user(engine, "bithu", f"bi_thu.{STALLED}", PASSWORDS["bithu"], by="test")
        add_user(engine, "kiemtoan", "kiem_toan", PASSWORDS["kiemtoan"], by="test")
        waiting = engine.instances(workflow="signing", state="awaiting_signature")[0]
        unit = waiting.unit or ""
        secretary = engine.actor(f"bi_thu.{unit}")
        sign = {"document_number": "09-KH/ĐU", "signed_on": "2020-09-28", "signatory": unit}
        engine.fire(waiting.id, "sign", secretary, payload=sign)
        archiving = engine.instances(workflow="archiving", unit=unit)[0].id
        plans = engine.instances(workflow="plan_drafting", state="approved", limit=1)
        own = engine.instances(workflow="plan_drafting", unit=STALLED)[0].id
        dissemination = engine.instances(workflow="dissemination", unit=STALLED)[0]
        record = {"method": HOSTILE, "audiences": ["đảng viên"], "held_on": "2020-09-30",
                  "attendees": 12}
        engine.fire(dissemination.id, "record_session", Actor(
            f"bi_thu.{STALLED}", ["secretary", "drafter", "committee"], STALLED), payload=record)
        return archiving, unit, plans[0].id, own, dissemination.id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("web")
    url, env = demo_database(folder)
    archiving, unit, other, own, hostile = _prepare(url)
    port = _free_port()
    cli = Path(sys.executable).with_name("workflow")
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [str(cli), "--db", url, "serve", "--port", str(port)],
        env=env, stdout=log, stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (folder / "serve.log").read_text()
            assert time.monotonic() < deadline, "workflow serve did not start"
            time.sleep(0.1)
        shots = Path(SHOTS) if SHOTS else folder
        shots.mkdir(parents=True, exist_ok=True)
        yield Site(base, url, archiving, unit, other, own, hostile, shots)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=vi"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """The browser as one person uses it."""

    def __init__(self, driver: object, site: Site) -> None:
        from selenium.webdriver.common.by import By

        self.driver = driver
        self.site = site
        self.by = By

    def open(self, path: str) -> None:
        self.driver.get(self.site.base + path)  # type: ignore[attr-defined]

    def login(self, name: str) -> None:
        from selenium.common.exceptions import WebDriverException

        # Chromium now and then answers a click on the fresh login page with "node does not
        # belong to the document" (the handle taken just before the page settled): the whole
        # login is then done again, at most twice more; any other failure is the test's.
        for attempt in range(3):
            self.driver.delete_all_cookies()  # type: ignore[attr-defined]
            self.open("/login")
            try:
                self.find("#name").send_keys(name)  # type: ignore[attr-defined]
                self.find("#password").send_keys(PASSWORDS[name])  # type: ignore[attr-defined]
                self.click_and_load("form[action='/login'] button")
            except WebDriverException as exc:
                if attempt == 2 or "does not belong to the document" not in str(exc):
                    raise
                continue
            break
        assert self.find("header .who")

    def click_and_load(self, css: str) -> None:
        """Click (a submit button, a link) and wait for the next page to replace this one.

        On a loaded machine Chromium now and then refuses the click with "node does not belong
        to the document" (the handle taken while the page it was found in settled): no click
        happened, so the page and the button are found again, at most twice more."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        for attempt in range(3):
            old = self.find("html")
            try:
                self.find(css).click()  # type: ignore[attr-defined]
            except WebDriverException as exc:
                if attempt == 2 or "does not belong to the document" not in str(exc):
                    raise
                continue
            break
        WebDriverWait(self.driver, 20).until(expected_conditions.staleness_of(old))

    def wait_for(self, css: str) -> object:
        """The element, once the console's script has put it in the page."""
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        located = expected_conditions.presence_of_element_located((self.by.CSS_SELECTOR, css))
        return WebDriverWait(self.driver, 30).until(located)

    def find(self, css: str) -> object:
        return self.driver.find_element(self.by.CSS_SELECTOR, css)  # type: ignore[attr-defined]

    def all(self, css: str) -> list[object]:
        return self.driver.find_elements(self.by.CSS_SELECTOR, css)  # type: ignore[attr-defined]

    def text(self) -> str:
        return self.find("main").text  # type: ignore[attr-defined,no-any-return]

    def shot(self, name: str) -> None:
        height = self.driver.execute_script(  # type: ignore[attr-defined]
            "return document.documentElement.scrollHeight")
        self.driver.set_window_size(1280, min(max(height, 800), 2400))  # type: ignore[attr-defined]
        self.driver.save_screenshot(str(self.site.shots / f"{name}.png"))  # type: ignore[attr-defined]
        self.driver.set_window_size(1280, 1000)  # type: ignore[attr-defined]

    def client(self) -> httpx.Client:
        """An HTTP client holding this browser's session cookie (for a hand-made request)."""
        cookies = {c["name"]: c["value"] for c in self.driver.get_cookies()}  # type: ignore[attr-defined]
        return httpx.Client(base_url=self.site.base, cookies=cookies)

    def csrf(self) -> str:
        return str(self.find("input[name=csrf]").get_attribute("value"))  # type: ignore[attr-defined]


@pytest.fixture
def page(browser: object, site: Site) -> Page:
    return Page(browser, site)


def _version(site: Site, instance_id: int) -> int:
    with Engine.open(site.url) as engine:
        return engine.get(instance_id).version


def test_the_office_clerk_archives_a_plan_through_the_form(page: Page, site: Site):
    page.login("vanthu")
    assert page.all(f"a[href='/instances/{site.archiving}']"), "the signed plan is in the inbox"
    page.open("/directives/19-CV%2F%C4%90UK")
    overdue = page.all("#report tbody tr.overdue")
    assert overdue, "the overdue units are listed"
    rows = page.all("#report tbody tr")
    assert rows[0].get_attribute("class") == "overdue", "overdue first"  # type: ignore[attr-defined]
    red = overdue[0].find_element(page.by.CSS_SELECTOR, "td").value_of_css_property("color")  # type: ignore[attr-defined]
    assert red == "rgba(163, 0, 27, 1)", red
    assert "quá hạn" in overdue[0].text  # type: ignore[attr-defined]
    page.shot("dashboard")

    page.open(f"/instances/{site.archiving}?action=receive")
    page.click_and_load("details[open] form button[type=submit]")
    assert "Đã thực hiện: Tiếp nhận." in page.text()
    page.open(f"/instances/{site.archiving}?action=archive")
    code = page.find("details[open] input[name='field.archive_code']")
    code.send_keys("HS-2020/luu-tru-web")  # type: ignore[attr-defined]
    page.click_and_load("details[open] form button[type=submit]")
    assert "Đã thực hiện: Lưu trữ." in page.text()
    assert "Giai đoạn: Đã lưu trữ" in page.text()
    assert "HS-2020/luu-tru-web" in page.text(), "the timeline shows the data given"
    page.shot("item")

    page.open("/directives/19-CV%2F%C4%90UK?item=2.2&unit=" + site.archiving_unit)
    row = page.find(f"#report tr[data-unit='{site.archiving_unit}']")
    assert "hoàn thành trễ hạn" in row.text  # type: ignore[attr-defined]
    assert "Đã lưu trữ" in row.text  # type: ignore[attr-defined]


def test_the_auditor_reads_every_page_sees_the_archiving_and_fires_nothing(page: Page, site: Site):
    page.login("kiemtoan")
    assert page.driver.current_url.endswith("/directives")  # type: ignore[attr-defined]
    for path in ("/directives", "/directives/19-CV%2F%C4%90UK", f"/instances/{site.other_plan}",
                 f"/instances/{site.archiving}", "/definitions", "/definitions/archiving",
                 "/definitions/plan_drafting?version=1", "/audit"):
        page.open(path)
        assert page.find("h1").text not in ("Không tìm thấy", "Không được phép"), path  # type: ignore[attr-defined]
        assert not page.all("form[action$='/fire']"), f"{path} offers an action"
    page.driver.execute_script("window.stayed = true")  # type: ignore[attr-defined]
    page.find("form[action='/audit/verify'] button").click()  # type: ignore[attr-defined]
    outcome = page.wait_for("#verify-outcome")
    assert "Nhật ký toàn vẹn" in outcome.text  # type: ignore[attr-defined]
    # started, polled and reported in place by the console's script, not by reloading the page
    assert page.driver.execute_script("return window.stayed") is True  # type: ignore[attr-defined]
    recent = page.find("#recent").text  # type: ignore[attr-defined]
    assert re.search(r"van_thu\.van_phong web .*archiving archive", recent), recent
    page.shot("audit")
    version = _version(site, site.own_plan)
    with page.client() as client:
        refused = client.post(f"/instances/{site.own_plan}/fire",
                              data={"csrf": page.csrf(), "trigger": "submit"})
    assert refused.status_code == 403
    assert _version(site, site.own_plan) == version


def test_a_secretary_cannot_see_or_act_on_another_units_item(page: Page, site: Site):
    page.login("bithu")
    page.open("/")
    overdue = page.all("tbody tr.overdue")
    assert overdue, "the stalled unit's plan is overdue in its inbox"
    page.shot("inbox")
    page.open(f"/instances/{site.other_plan}")
    assert page.find("h1").text == "Không tìm thấy"  # type: ignore[attr-defined]
    assert page.all(f"a[href='/instances/{site.other_plan}']") == []
    version = _version(site, site.other_plan)
    page.open("/")
    with page.client() as client:
        seen = client.get(f"/instances/{site.other_plan}")
        fired = client.post(f"/instances/{site.other_plan}/fire",
                            data={"csrf": page.csrf(), "trigger": "request_revision",
                                  "reason": "không phải của tôi"})
    assert seen.status_code == 404
    assert fired.status_code == 404
    assert _version(site, site.other_plan) == version
    page.open("/directives/19-CV%2F%C4%90UK")
    units = {row.get_attribute("data-unit") for row in page.all("#report tbody tr")}  # type: ignore[attr-defined]
    assert units == {STALLED}


def test_a_payload_holding_a_script_renders_as_text(page: Page, site: Site):
    page.login("bithu")
    page.open(f"/instances/{site.hostile}")
    assert HOSTILE in page.text()
    assert page.driver.title != "pwned"  # type: ignore[attr-defined]
    assert "&lt;script&gt;" in page.driver.page_source  # type: ignore[attr-defined]


def test_the_state_at_a_past_moment_is_redrawn_in_place(page: Page, site: Site):
    """Moving the slider asks for the fragment (X-Partial) and redraws only that section."""
    from selenium.webdriver.support.wait import WebDriverWait

    page.login("bithu")
    page.open(f"/instances/{site.own_plan}")
    driver = page.driver  # type: ignore[attr-defined]
    driver.execute_script(
        """
        window.stayed = true;
        document.getElementById('at-time').value = '';  // a moment, when given, wins
        const slider = document.getElementById('at-step');
        slider.value = '1';
        slider.dispatchEvent(new Event('change', {bubbles: true}));
        """
    )
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.querySelector('#at output').textContent")
        == "1"
    )
    assert driver.execute_script("return window.stayed") is True
    assert driver.execute_script("return document.querySelectorAll('main h1').length") == 1


def test_code_written_into_the_page_does_not_run(page: Page):
    """The console's own script takes no code from the page (tests/test_layering.py), and the
    content security policy refuses what a page could still come to hold: an inline handler."""
    page.login("bithu")
    page.open("/")
    driver = page.driver  # type: ignore[attr-defined]
    driver.execute_script(
        """
        const probe = document.createElement('button');
        probe.setAttribute('onclick', "document.title = 'pwned'");
        document.body.appendChild(probe);
        probe.click();
        """
    )
    assert driver.title != "pwned"


def test_a_form_posted_without_its_csrf_token_is_refused(page: Page, site: Site):
    page.login("bithu")
    version = _version(site, site.own_plan)
    page.open(f"/instances/{site.own_plan}?action=submit")
    page.driver.execute_script(  # type: ignore[attr-defined]
        "document.querySelector('details[open] form input[name=csrf]').remove()")
    page.click_and_load("details[open] form button[type=submit]")
    assert page.find("h1").text == "Không được phép"  # type: ignore[attr-defined]
    assert "thiếu mã bảo mật" in page.text()
    assert _version(site, site.own_plan) == version


def test_pages_carry_the_security_headers_and_the_cookie_its_flags(site: Site):
    answer = httpx.get(f"{site.base}/login")
    policy = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "script-src 'self'" in policy
    assert answer.headers["x-frame-options"] == "DENY"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie, "no TLS here (workflow serve --behind-tls adds it)"


def test_login_never_sends_anyone_to_another_site_and_logout_ends_the_session(site: Site):
    with httpx.Client(base_url=site.base) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        answer = client.post("/login", data={
            "csrf": token.group(1), "name": "bithu", "password": PASSWORDS["bithu"],
            "next": "//elsewhere.example/steal"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/"
        assert client.get("/").status_code == 200
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
        assert token is not None
        client.post("/logout", data={"csrf": token.group(1)})
        after = client.get("/")
        assert after.status_code == 303
        assert after.headers["location"].startswith("/login")
        wrong = client.get("/login")
        again = re.search(r'name="csrf" value="([^"]+)"', wrong.text)
        assert again is not None
        refused = client.post("/login", data={"csrf": again.group(1), "name": "bithu",
                                              "password": "not-the-password"})
        assert refused.status_code == 401
        assert "Sai tài khoản hoặc mật khẩu." in refused.text


def test_downloads_are_the_auditors_and_the_overseers(page: Page, site: Site):
    from workflow.auditing import read_export, verify_log

    page.login("kiemtoan")
    with page.client() as client:
        export = client.get("/audit/export.jsonl")
        checkpoint = client.get("/audit/checkpoint.json")
        report = client.get("/directives/19-CV%2F%C4%90UK/report.csv")
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    assert verify_log(read_export(io.StringIO(export.text)).events).ok
    assert checkpoint.json()["format"] == "workflow-audit-checkpoint"
    assert report.status_code == 200
    assert "db_van_phong_ubnd" in report.text
    page.login("bithu")
    with page.client() as client:
        assert client.get("/audit/export.jsonl").status_code == 403
        assert client.get("/directives/19-CV%2F%C4%90UK/report.csv").status_code == 403
