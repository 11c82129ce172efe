"""What a caller is told when the connection died during COMMIT (issue 24): neither success nor
refusal, and how to find out. The real thing, on real servers killed mid-commit, is
``tests/test_failover.py``."""

from __future__ import annotations

from cli.errors import exit_code_for
from workflow import CommitOutcomeUnknown, DatabaseUnavailable, WorkflowError
from workflow.i18n import use_language

URL = "postgresql+psycopg://app@/wf"


def test_with_a_key_it_says_to_send_the_request_again_with_that_key():
    with use_language("en"):
        error = CommitOutcomeUnknown(URL, "fire approve on 7", "receipt-42")
    text = str(error)
    assert error.idempotency_key == "receipt-42"
    assert "fire approve on 7" in text
    assert "may or may not have been applied" in text
    assert "same idempotency key 'receipt-42'" in text


def test_in_vietnamese_too():
    with use_language("vi"):
        keyed = str(CommitOutcomeUnknown(URL, "fire approve on 7", "receipt-42"))
        unkeyed = str(CommitOutcomeUnknown(URL))
    assert "không rõ đã được ghi hay chưa" in keyed
    assert "cùng khóa chống lặp 'receipt-42'" in keyed
    assert "hãy xem lịch sử của hồ sơ trước khi gửi lại" in unkeyed
    assert "thao tác ghi" in unkeyed


def test_without_a_key_it_says_to_check_the_history_first():
    with use_language("en"):
        text = str(CommitOutcomeUnknown(URL, "start payment"))
    assert "check the instance's history before sending it again" in text


def test_it_is_its_own_kind_with_its_own_exit_code():
    error = CommitOutcomeUnknown("postgresql+psycopg://app@/wf")
    assert isinstance(error, WorkflowError)
    assert not isinstance(error, DatabaseUnavailable)  # that one means "nothing changed"
    assert exit_code_for(error) == 5
