"""Topic patterns, handler registration and the "who must act next" notices (no database)."""

from __future__ import annotations

import pytest
from events_support import sample_event as event

from workflow import InvalidInput
from workflow.events import EventBus, NextActorNotices, who_acts_next
from workflow.events.bus import Pattern

TOPIC = "plan_drafting.return.returned"


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("plan_drafting.*.returned", True),
        ("plan_drafting.return.*", True),
        ("*.*.returned", True),
        ("*.*.archived", False),
        ("*", True),
        ("*.*.*", True),
        ("plan_drafting.returned", True),  # workflow.state shorthand
        ("plan_*.return.*", True),
        ("plan.*.*", False),
        ("plan_drafting.submit.*", False),
        ("other.*.returned", False),
    ],
)
def test_pattern_matrix(pattern, matches):
    assert Pattern.parse(pattern).matches(TOPIC) is matches


@pytest.mark.parametrize("pattern", ["", "a.b.c.d", "a..b", "Plan.*.*", "a.b;c.d", "a.(b).c"])
def test_malformed_patterns_are_refused(pattern):
    with pytest.raises(InvalidInput, match=r"workflow\.trigger\.state"):
        Pattern.parse(pattern)


def test_matching_handlers_are_returned_in_registration_order():
    bus = EventBus()
    bus.on("*.*.returned", print, name="first")
    bus.on("plan_drafting.return.*", print, name="second")
    bus.on("*.*.archived", print, name="third")
    assert [s.name for s in bus.matching(TOPIC)] == ["first", "second"]


def test_one_handler_with_two_matching_patterns_is_listed_once():
    bus = EventBus()
    bus.on(["*.*.returned", "plan_drafting.*.*"], print, name="once")
    assert [s.name for s in bus.matching(TOPIC)] == ["once"]


def test_the_notice_names_who_acts_next_and_where_it_came_from():
    templates = {"awaiting_archive": "Văn phòng Đảng ủy Khối: tài liệu chờ lưu trữ từ $unit"}
    assert who_acts_next(event(), templates) == (
        "Văn phòng Đảng ủy Khối: tài liệu chờ lưu trữ từ Chi bộ X"
    )


def test_a_topic_key_wins_over_a_later_state_key():
    notices = NextActorNotices(
        {
            "archiving.request_revision.drafting": "$unit: tài liệu bị trả lại ($directive)",
            "drafting": "$unit: đang soạn",
        }
    )
    returned = event(trigger="request_revision", to_state="drafting")
    assert notices.message(returned) == "Chi bộ X: tài liệu bị trả lại (35-CV/ĐUK)"


def test_the_unit_code_stands_in_when_the_unit_has_no_name():
    text = who_acts_next(event(unit_name=None), {"*": "$unit"})
    assert text == "chi_bo_x"


def test_no_matching_template_means_no_notice():
    assert who_acts_next(event(), {"archived": "Đã lưu trữ"}) is None


def test_an_unknown_placeholder_is_refused_up_front():
    with pytest.raises(InvalidInput, match="password"):
        NextActorNotices({"archived": "$password"})


def test_the_handler_hands_sentences_to_emit():
    said: list[str] = []
    handler = NextActorNotices({"awaiting_archive": "VP: chờ lưu trữ từ $unit"}).handler(
        said.append
    )
    handler(event())
    handler(event(to_state="archived"))
    assert said == ["VP: chờ lưu trữ từ Chi bộ X"]


def test_two_unnamed_lambdas_both_stay_registered():
    bus = EventBus()
    bus.on("*", lambda e: None)
    bus.on("*", lambda e: None)
    assert len(bus.matching(TOPIC)) == 2


def test_registering_under_an_existing_name_replaces_the_handler():
    bus = EventBus()
    bus.on("*.*.archived", print, name="notify")
    bus.on("*.*.returned", print, name="notify")
    assert [s.name for s in bus.matching(TOPIC)] == ["notify"]
    assert bus.matching("a.b.archived") == []
