"""Built-in sinks configured without code: a JSON Lines file and a signed webhook.

A sinks file (YAML or JSON, read through the strict YAML loader) lists the sinks::

    sinks:
      - name: journal
        type: jsonl
        path: events.jsonl            # relative to the sinks file
        match: ["*"]                  # topic patterns, see workflow.events.bus
      - name: office
        type: webhook
        url: https://office.example/hooks/workflow
        secret_env: WORKFLOW_WEBHOOK_SECRET
        timeout_seconds: 5
        match: ["plan_drafting.*.returned", "*.*.archived"]

:func:`load_sinks` turns it into an :class:`~workflow.events.bus.EventBus`. Delivery is at least
once: a receiver deduplicates on the event id (the ``id`` field, also the
``X-Workflow-Event-Id`` header).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflow.definition.yamlsafe import read_file, read_yaml
from workflow.errors import DefinitionError, DeliveryFailed, InvalidInput
from workflow.events.bus import Event, EventBus, without_credentials

SIGNATURE_HEADER = "X-Workflow-Signature"
EVENT_ID_HEADER = "X-Workflow-Event-Id"
TOPIC_HEADER = "X-Workflow-Topic"
MAX_RESPONSE_BYTES = 64 * 1024


def event_body(event: Event) -> bytes:
    """The bytes a sink writes or posts: the event as compact UTF-8 JSON with sorted keys."""
    return json.dumps(
        event.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")


SIGNATURE_TOLERANCE_SECONDS = 300
"""How far a delivery's signed time may be from the receiver's clock (Stripe's default too)."""


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The ``X-Workflow-Signature`` value: ``t=<unix seconds>,v1=<hex>``, the hex being the
    HMAC-SHA256 of ``b"<t>." + body`` (the time is signed with the body, as Stripe and Slack do,
    so that a captured delivery cannot be replayed once the tolerance has passed)."""
    mac = hmac.new(secret, f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: bytes,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance_seconds: float = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: parse ``t=...,v1=...``, refuse a time more than
    ``tolerance_seconds`` from ``now`` (default: this machine's clock), and compare each ``v1``
    with the expected signature in constant time."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    moment = time.time() if now is None else now
    if abs(moment - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


class JsonLinesSink:
    """Appends each event as one JSON line to a file (created owner-only), flushed to disk."""

    def __init__(self, name: str, path: str | Path) -> None:
        self.name = name
        self.path = Path(path)
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = event_body(event) + b"\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise DeliveryFailed(self.name, event.id, f"{self.path}: {exc.strerror}") from exc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A signed event goes to the configured URL only, never where a redirect points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookSink:
    """POSTs each event as JSON, signed with HMAC-SHA256 of the delivery time and the body
    (:func:`sign`); a non-2xx reply fails it."""

    def __init__(
        self,
        name: str,
        url: str,
        secret: bytes,
        *,
        timeout_seconds: float = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = without_credentials(url)
            raise InvalidInput(f"webhook {name!r}: {shown!r} is not an http(s) URL")
        if not secret:
            raise InvalidInput(f"webhook {name!r} needs a non-empty secret to sign with")
        if not 0 < timeout_seconds <= 300:
            raise InvalidInput(f"webhook {name!r}: timeout_seconds must be in (0, 300]")
        self.name = name
        self.url = url
        self.shown = without_credentials(url)
        """The URL as messages show it: without user, password, query or fragment."""
        self.timeout = timeout_seconds
        self._secret = secret
        self._clock = clock  # the signed time is the delivery's: a retry is signed afresh
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __call__(self, event: Event) -> None:
        body = event_body(event)
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) above
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "workflow-events/1",
                SIGNATURE_HEADER: sign(self._secret, body, int(self._clock())),
                EVENT_ID_HEADER: str(event.id),
                TOPIC_HEADER: event.topic,
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(MAX_RESPONSE_BYTES)
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise DeliveryFailed(self.name, event.id, f"HTTP {exc.code} from {self.shown}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryFailed(self.name, event.id, f"{self.shown}: {reason}") from exc
        if not 200 <= status < 300:
            raise DeliveryFailed(self.name, event.id, f"HTTP {status} from {self.shown}")


# --- configuration -------------------------------------------------------------------------------

SinkName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]


class _Sink(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: SinkName
    match: list[str] = Field(default_factory=lambda: ["*"], min_length=1)


class JsonLinesConfig(_Sink):
    type: Literal["jsonl"]
    path: Annotated[str, Field(min_length=1)]


class WebhookConfig(_Sink):
    type: Literal["webhook"]
    url: Annotated[str, Field(min_length=1)]
    secret: str | None = None
    secret_env: str | None = None
    timeout_seconds: float = 10


class SinksFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sinks: list[Annotated[JsonLinesConfig | WebhookConfig, Field(discriminator="type")]]


def load_sinks(path: str | Path, bus: EventBus | None = None) -> EventBus:
    """Read a sinks file and register one handler per sink and pattern on ``bus`` (or a new one)."""
    file = Path(path)
    try:
        source = read_file(file)
    except DefinitionError as exc:
        raise InvalidInput(f"sinks file {file}: {exc.issues[0].message}") from None
    return sinks_from_text(source, str(file), base=file.parent, bus=bus)


def sinks_from_text(
    source: bytes | str, filename: str, *, base: Path, bus: EventBus | None = None
) -> EventBus:
    """Like :func:`load_sinks` for text already read; relative paths are resolved from ``base``."""
    try:
        document, _marks = read_yaml(source, filename)
        config = SinksFile.model_validate(document)
    except DefinitionError as exc:
        raise InvalidInput(f"sinks file {filename}: {exc.issues[0].message}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"sinks file {filename}: {problems}") from exc
    target = bus if bus is not None else EventBus()
    names = [s.name for s in config.sinks]
    if len(set(names)) != len(names):
        raise InvalidInput(f"sinks file {filename}: sink names must be unique")
    for spec in config.sinks:
        target.on(spec.match, _build(spec, base), name=spec.name)
    return target


def _build(spec: JsonLinesConfig | WebhookConfig, base: Path) -> JsonLinesSink | WebhookSink:
    if isinstance(spec, JsonLinesConfig):
        return JsonLinesSink(spec.name, base / spec.path)
    return WebhookSink(spec.name, spec.url, _secret(spec), timeout_seconds=spec.timeout_seconds)


def _secret(spec: WebhookConfig) -> bytes:
    if (spec.secret is None) == (spec.secret_env is None):
        raise InvalidInput(f"webhook {spec.name!r}: give exactly one of secret or secret_env")
    if spec.secret_env is not None:
        value = os.environ.get(spec.secret_env, "")
        if not value:
            raise InvalidInput(
                f"webhook {spec.name!r}: environment variable {spec.secret_env} is not set"
            )
        return value.encode("utf-8")
    return (spec.secret or "").encode("utf-8")
