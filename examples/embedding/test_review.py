"""An application's own test of its workflow, with the fixtures of the workflow.testing plugin
(installed with the package: nothing to configure beyond these overrides)."""

from __future__ import annotations

import pytest
from documents import REVIEW


@pytest.fixture
def workflow_definitions():
    return [REVIEW]


@pytest.fixture
def workflow_actors():
    return """
    | id   | roles    | unit      |
    | lan  | writer   | van_phong |
    | minh | approver | van_phong |
    """


def test_a_returned_draft_goes_back_to_its_writer(workflow_harness):
    h = workflow_harness
    doc = h.start("document_review", "lan", unit="van_phong").instance.id
    assert h.allowed(doc, "lan") == ()  # nothing to submit without a title
    h.fire(doc, "submit", "lan", payload={"title": "Kế hoạch 2020"})
    h.advance("2d")
    assert h.allowed(doc, "minh") == ("return", "approve")
    h.fire(doc, "return", "minh", reason="Thiếu tiến độ")
    h.assert_state(doc, "draft")
    h.assert_history(doc, ["start", "submit", "return"])
    assert h.engine.history(doc)[-1].occurred_at == h.now
    h.assert_verified()
