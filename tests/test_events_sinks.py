"""Built-in sinks: a signed webhook against a real HTTP server on 127.0.0.1, a JSON Lines file."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from events_support import sample_event

from workflow import DeliveryFailed, InvalidInput
from workflow.events import WebhookSink, dispatch_pending, list_events, load_sinks, verify_signature

SECRET = "s3cret-khóa"


class Receiver(ThreadingHTTPServer):
    """An HTTP server that records each POST and answers with ``status``."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 204

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((dict(self.headers), body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def write_sinks(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sinks.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def webhook_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    return write_sinks(
        tmp_path,
        f"sinks:\n  - name: office\n    type: webhook\n    url: {url}\n"
        f"    secret: {SECRET}\n    match: ['payment.*.*']\n{extra}",
    )


def test_webhook_posts_the_event_signed_with_the_secret(payment, clerk, receiver, tmp_path):
    bus = load_sinks(webhook_config(tmp_path, receiver.url))
    instance = payment.start("payment", clerk).instance
    assert dispatch_pending(payment, bus).delivered == 1
    [(headers, body)] = receiver.requests
    assert verify_signature(SECRET.encode(), body, headers["X-Workflow-Signature"])
    document = json.loads(body)
    assert (document["topic"], document["instance_id"], document["seq"]) == (
        "payment.start.open",
        instance.id,
        1,
    )
    assert headers["X-Workflow-Event-Id"] == str(document["id"])


@pytest.mark.parametrize("backend", ["sqlite"])  # sink logic, not SQL
def test_a_tampered_body_fails_signature_verification(payment, clerk, receiver, tmp_path):
    bus = load_sinks(webhook_config(tmp_path, receiver.url))
    payment.start("payment", clerk)
    dispatch_pending(payment, bus)
    [(headers, body)] = receiver.requests
    forged = body.replace(b'"seq":1', b'"seq":9')
    assert not verify_signature(SECRET.encode(), forged, headers["X-Workflow-Signature"])


@pytest.mark.parametrize("backend", ["sqlite"])  # sink logic, not SQL
def test_webhook_server_error_leaves_the_event_pending_with_the_reason(
    payment, clerk, receiver, tmp_path
):
    receiver.status = 503
    bus = load_sinks(webhook_config(tmp_path, receiver.url))
    payment.start("payment", clerk)
    assert dispatch_pending(payment, bus).retrying == 1
    [entry] = list_events(payment, status="pending")
    assert "HTTP 503" in (entry.last_error or "")


def test_webhook_timeout_is_a_delivery_failure():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection in the backlog, never answers
    try:
        sink = WebhookSink(
            "slow", f"http://127.0.0.1:{silent.getsockname()[1]}/", b"k", timeout_seconds=0.2
        )
        with pytest.raises(DeliveryFailed, match="timed out"):
            sink(sample_event())
    finally:
        silent.close()


@pytest.mark.parametrize("backend", ["sqlite"])  # sink logic, not SQL
def test_jsonl_sink_appends_one_line_per_event(payment, clerk, tmp_path):
    bus = load_sinks(
        write_sinks(tmp_path, "sinks:\n  - {name: journal, type: jsonl, path: out/events.jsonl}\n")
    )
    instance = payment.start("payment", clerk).instance
    payment.fire(instance.id, "cancel", clerk, reason="Hủy")
    dispatch_pending(payment, bus)
    lines = (tmp_path / "out" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["topic"] for line in lines] == [
        "payment.start.open",
        "payment.cancel.cancelled",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("sinks:\n  - {name: x, type: ftp, path: a}\n", "ftp"),
        ("sinks:\n  - {name: x, type: webhook, url: 'file:///etc/passwd', secret: k}\n", "http"),
        ("sinks:\n  - {name: x, type: webhook, url: 'http://h/'}\n", "exactly one of secret"),
        (
            "sinks:\n  - {name: x, type: webhook, url: 'http://h/', secret_env: NO_SUCH_VAR_9}\n",
            "NO_SUCH_VAR_9 is not set",
        ),
        ("sinks:\n  - {name: x, type: jsonl, path: a, match: ['a.b.c.d']}\n", "a.b.c.d"),
        (
            "sinks:\n  - {name: x, type: jsonl, path: a}\n  - {name: x, type: jsonl, path: b}\n",
            "unique",
        ),
        ("sinks: [\n", "YAML"),
        ("sinks:\n  - {name: x, type: jsonl, path: a, colour: red}\n", "colour"),
    ],
)
def test_a_bad_sinks_file_is_refused_with_the_reason(tmp_path, text, problem):
    with pytest.raises(InvalidInput, match=problem):
        load_sinks(write_sinks(tmp_path, text))
