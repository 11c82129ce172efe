"""Issue 14, the library at its seams: signed webhook times, messages that name parameters, and
the operating-system user beside ``by`` in the administrators' log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from workflow import Actor, Engine, InvalidInput, WorkflowError
from workflow.admin import MigrationRequest, migrate_instances
from workflow.auditing import AuditFilter, admin_log, state_at
from workflow.events import verify_signature
from workflow.events.sinks import sign
from workflow.shipped import export_examples
from workflow.store.chain_writer import os_user

SECRET = b"s3cret"
BODY = b'{"id":1,"topic":"payment.start.open"}'
SENT = 1_600_000_000


# (case, header, receiver's time, body, verified)
SIGNATURES = [
    ("fresh", sign(SECRET, BODY, SENT), SENT + 1, BODY, True),
    ("at the tolerance", sign(SECRET, BODY, SENT), SENT + 300, BODY, True),
    ("replayed after the tolerance", sign(SECRET, BODY, SENT), SENT + 301, BODY, False),
    ("from the future", sign(SECRET, BODY, SENT), SENT - 301, BODY, False),
    ("body changed", sign(SECRET, BODY, SENT), SENT, BODY + b" ", False),
    ("time changed", sign(SECRET, BODY, SENT).replace(f"t={SENT}", f"t={SENT + 60}"),
     SENT + 60, BODY, False),
    ("another secret", sign(b"other", BODY, SENT), SENT, BODY, False),
    ("old unsigned-time header", "sha256=" + sign(SECRET, BODY, SENT).rpartition("=")[2],
     SENT, BODY, False),
    ("no time", sign(SECRET, BODY, SENT).split(",", 1)[1], SENT, BODY, False),
    ("a rotated secret among two", f"t={SENT},v1=00,v1=" + sign(SECRET, BODY, SENT)[-64:],
     SENT, BODY, True),
    ("garbage", "t=x,v1=y", SENT, BODY, False),
]


@pytest.mark.parametrize(("header", "now", "body", "verified"),
                         [c[1:] for c in SIGNATURES], ids=[c[0] for c in SIGNATURES])
def test_a_webhook_signature_covers_its_time_and_expires(header, now, body, verified):
    assert verify_signature(SECRET, body, header, now=now) is verified


def test_the_signature_header_is_time_then_mac():
    header = sign(SECRET, BODY, SENT)
    assert header.startswith(f"t={SENT},v1=")
    assert len(header.rpartition("v1=")[2]) == 64


def _fire_without_reason(engine: Engine) -> None:
    clerk = Actor("c1", ["clerk"])
    engine.fire(engine.start("payment", clerk).instance.id, "cancel", clerk)


# (case, what raises an error from the library)
LIBRARY_ERRORS = [
    ("a missing reason", _fire_without_reason),
    ("an empty time range", lambda engine: AuditFilter(
        since=datetime(2024, 2, 1, tzinfo=UTC), until=datetime(2024, 1, 1, tzinfo=UTC))),
    ("a naive instant", lambda engine: state_at(engine, 1, datetime(2024, 1, 1))),
    ("no migration", lambda engine: migrate_instances(engine, MigrationRequest("payment", 1, 1))),
]


@pytest.mark.parametrize("backend", ["sqlite"])  # messages, not SQL
@pytest.mark.parametrize("call", [c[1] for c in LIBRARY_ERRORS], ids=[c[0] for c in LIBRARY_ERRORS])
def test_library_messages_name_parameters_not_cli_options(payment, call):
    with pytest.raises(WorkflowError) as raised:
        call(payment)
    assert "--" not in str(raised.value)


def test_exporting_over_files_names_the_parameter(tmp_path: Path):
    export_examples(tmp_path)
    with pytest.raises(InvalidInput) as raised:
        export_examples(tmp_path)
    assert "--" not in str(raised.value)
    assert "overwrite=True" in str(raised.value)


def test_the_administrators_log_records_the_os_user_beside_by(payment, clock):
    clock.advance(timedelta(minutes=1))
    payment.add_actor("lan", ["clerk"], by="someone-else")
    [event, *_] = admin_log(payment)
    assert (event.actor, event.detail["os_user"]) == ("someone-else", os_user())
    assert os_user().split(" ")[0] != ""
    assert json.dumps(event.detail)  # still plain JSON, hashed in the chain
    assert payment.verify().ok
