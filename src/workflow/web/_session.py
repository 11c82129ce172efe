"""The console's session: a signed cookie holding the account name and the CSRF token.

The cookie carries ``{"a": account or null, "c": csrf token, "i": issued, "s": last seen}`` as
base64url JSON followed by its HMAC-SHA256 under the console's secret; a cookie whose MAC does
not match, or that is older than :data:`ABSOLUTE_SECONDS` or unused for :data:`IDLE_SECONDS`, is
no session. It is ``HttpOnly``, ``SameSite=Strict`` and, behind TLS, ``Secure``. Nothing is kept
on the server, so several server processes share sessions when they share the secret
(``WORKFLOW_WEB_SECRET``); the account is re-read from the database on every request, so a
disabled account or a removed actor ends its sessions at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from workflow import InvalidInput

COOKIE = "wf_session"
IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 10 * 60 * 60
SECRET_ENV = "WORKFLOW_WEB_SECRET"  # noqa: S105 - the name of a variable, not a secret
SECRET_FILE_ENV = "WORKFLOW_WEB_SECRET_FILE"  # noqa: S105 - a variable's name
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class Session:
    account: str | None
    csrf: str
    issued: int
    seen: int


def console_secret(environ: dict[str, str] | None = None) -> bytes:
    """The key that signs sessions: ``WORKFLOW_WEB_SECRET`` (or the file named by
    ``WORKFLOW_WEB_SECRET_FILE``), else a random key for this process alone."""
    env = os.environ if environ is None else environ
    text = env.get(SECRET_ENV)
    if text is None and env.get(SECRET_FILE_ENV):
        text = Path(env[SECRET_FILE_ENV]).read_text(encoding="utf-8").strip()
    if text is None:
        return secrets.token_bytes(MIN_SECRET_BYTES)
    if len(text.encode()) < MIN_SECRET_BYTES:
        raise InvalidInput(f"{SECRET_ENV} must hold at least {MIN_SECRET_BYTES} bytes")
    return text.encode()


class Sessions:
    """Reads and writes the session cookie under one secret; ``clock`` gives Unix seconds."""

    def __init__(
        self, secret: bytes, *, secure: bool, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self.secure = secure
        self._clock = clock

    def now(self) -> int:
        return int(self._clock())

    def new(self, account: str | None) -> Session:
        now = self.now()
        return Session(account, secrets.token_urlsafe(24), now, now)

    def read(self, cookie: str | None) -> Session | None:
        """The session of a cookie value, or None when it is absent, forged or expired."""
        if not cookie or "." not in cookie:
            return None
        body, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            raw = json.loads(base64.urlsafe_b64decode(body.encode() + b"=="))
            session = Session(
                raw["a"] if isinstance(raw["a"], str) else None,
                str(raw["c"]),
                int(raw["i"]),
                int(raw["s"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        now = self.now()
        if now - session.issued > ABSOLUTE_SECONDS or now - session.seen > IDLE_SECONDS:
            return None
        return session

    def touched(self, session: Session) -> Session:
        return replace(session, seen=self.now())

    def encode(self, session: Session) -> str:
        raw = {"a": session.account, "c": session.csrf, "i": session.issued, "s": session.seen}
        body = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
        return f"{body}.{self._mac(body)}"

    def cookie_header(self, session: Session | None) -> str:
        """The ``Set-Cookie`` value that stores ``session`` (None: deletes the cookie)."""
        value, age = ("", 0) if session is None else (self.encode(session), ABSOLUTE_SECONDS)
        parts = [f"{COOKIE}={value}", "Path=/", f"Max-Age={age}", "HttpOnly", "SameSite=Strict"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
