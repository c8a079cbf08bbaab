"""Rules, pure: a timeline + rules + calendar + now → the case's state and due time."""
from __future__ import annotations

from monitor.config import Deadline, HotRule, Rules
from monitor.rules import IN_TIME, LATE, OVERDUE, PENDING, Reply, Timeline, evaluate
from monitor.workdays import WorkCalendar
from tests.helpers import local

RULES = Rules(respond_within=Deadline(working_days=2),
              hot=HotRule(min_views=10000, min_replies=100, respond_within=Deadline(hours=24)))
CAL = WorkCalendar()
POSTED = local(2011, 3, 1, 9, 0)  # Tuesday: due Thursday 3 March 09:00


def outcome(replies=(), now=local(2011, 4, 1), unit="water", views=0, reply_count=0):
    return evaluate(Timeline(POSTED, unit, list(replies), views, reply_count), RULES, CAL, now)


def test_pending_then_overdue_as_time_passes():
    assert outcome(now=local(2011, 3, 3, 8, 59)).state == PENDING
    o = outcome(now=local(2011, 3, 3, 9, 0))
    assert o.state == OVERDUE and o.due_at == local(2011, 3, 3, 9, 0)
    assert o.state_since(POSTED) == o.due_at


def test_answered_in_time_and_late():
    assert outcome([Reply(local(2011, 3, 3, 8, 0), "water")]).state == IN_TIME
    late = outcome([Reply(local(2011, 3, 4, 8, 0), "water", 77)])
    assert late.state == LATE and late.answered_at == local(2011, 3, 4, 8, 0) and late.answer_post_id == 77


def test_an_answer_after_now_is_not_seen_yet():
    o = outcome([Reply(local(2011, 3, 2, 8, 0), "water")], now=local(2011, 3, 2, 7, 0))
    assert o.state == PENDING and o.answered_at is None


def test_citizens_and_other_units_do_not_answer_for_the_unit():
    o = outcome([Reply(local(2011, 3, 1, 10, 0), None), Reply(local(2011, 3, 1, 11, 0), "traffic")])
    assert o.state == OVERDUE


def test_a_thread_owed_by_the_office_is_answered_by_any_spokesperson():
    assert outcome([Reply(local(2011, 3, 1, 11, 0), "traffic")], unit=None).state == IN_TIME


def test_hot_threads_get_24_hours():
    answer = [Reply(local(2011, 3, 2, 15, 0), "water")]  # 30 hours: in time for 2 working days
    assert outcome(answer).state == IN_TIME
    hot = outcome(answer, reply_count=120)
    assert hot.hot and hot.state == LATE and hot.due_at == local(2011, 3, 2, 9, 0)
    assert outcome(answer, views=10000).state == LATE


def test_hours_rule_ignores_the_calendar():
    rules = Rules(respond_within=Deadline(hours=48))
    o = evaluate(Timeline(local(2011, 2, 1, 10, 0), "water", []), rules, CAL, local(2011, 4, 1))
    assert o.due_at == local(2011, 2, 3, 10, 0)  # straight through the Spring Festival
