"""The console's session cookie: signed, expiring, and nothing but what it was given."""

from __future__ import annotations

import pytest

from workflow import InvalidInput
from workflow.web._session import (
    ABSOLUTE_SECONDS,
    IDLE_SECONDS,
    Sessions,
    console_secret,
    same_token,
)

SECRET = b"k" * 32


class Ticking:
    """A clock the test moves (Unix seconds)."""

    def __init__(self) -> None:
        self.now = 1_600_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_reads_back_what_was_written():
    sessions = Sessions(SECRET, secure=False)
    session = sessions.new("lan")
    assert sessions.read(sessions.encode(session)) == session


@pytest.mark.parametrize("cookie", ["", "x", "abc.def", "e30.AAAA"])
def test_garbage_is_no_session(cookie):
    assert Sessions(SECRET, secure=False).read(cookie) is None


def test_a_cookie_edited_or_signed_with_another_key_is_no_session():
    sessions = Sessions(SECRET, secure=False)
    value = sessions.encode(sessions.new("lan"))
    body, mac = value.rsplit(".", 1)
    forged = Sessions(b"o" * 32, secure=False).encode(sessions.new("admin"))
    assert sessions.read(forged) is None
    assert sessions.read(f"{body[:-2]}xx.{mac}") is None


def test_a_session_ends_when_unused_too_long_and_after_its_absolute_limit():
    clock = Ticking()
    sessions = Sessions(SECRET, secure=False, clock=clock)
    session = sessions.new("lan")
    clock.now += IDLE_SECONDS + 1
    assert sessions.read(sessions.encode(session)) is None
    clock.now = session.issued
    while clock.now - session.issued <= ABSOLUTE_SECONDS:
        session = sessions.touched(session)
        assert sessions.read(sessions.encode(session)) is not None
        clock.now += IDLE_SECONDS - 1
    assert sessions.read(sessions.encode(sessions.touched(session))) is None


def test_the_cookie_is_httponly_samesite_and_secure_behind_tls():
    plain = Sessions(SECRET, secure=False).cookie_header(Sessions(SECRET, secure=False).new(None))
    assert "HttpOnly" in plain
    assert "SameSite=Strict" in plain
    assert "Secure" not in plain
    tls = Sessions(SECRET, secure=True)
    assert "; Secure" in tls.cookie_header(tls.new("lan"))
    assert "Max-Age=0" in tls.cookie_header(None)


def test_csrf_tokens_compare_whole():
    assert same_token("abc", "abc")
    assert not same_token("ab", "abc")
    assert not same_token(None, "abc")


def test_the_secret_comes_from_the_environment_and_must_be_long(tmp_path):
    assert console_secret({"WORKFLOW_WEB_SECRET": "s" * 32}) == b"s" * 32
    kept = tmp_path / "secret"
    kept.write_text("f" * 40 + "\n", encoding="utf-8")
    assert console_secret({"WORKFLOW_WEB_SECRET_FILE": str(kept)}) == b"f" * 40
    with pytest.raises(InvalidInput):
        console_secret({"WORKFLOW_WEB_SECRET": "short"})
    assert console_secret({}) != console_secret({}), "random per process without one"
