"""Reply-quality flags and follow-ups, pure: what is flagged and why, and what a follow-up became."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.config import Deadline, FollowUps, Quality
from monitor.quality import (BOILERPLATE, REDIRECT, RESOLVED, SHORT, UNRESOLVED, WAITING, Answer, ThreadPost,
                             flag_answers, follow_up)
from monitor.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2011, 3, 1, 9, 0, tzinfo=TZ)
GOOD = "您好，关于您反映的象山大道路灯不亮的问题，我局已派人现场查看，线路老化的两处已于昨日更换，目前已恢复照明。"


def kinds(flags, key):
    return {f.kind for f in flags if f.key == key}


def test_short_redirect_and_boilerplate_answers_are_flagged_with_their_reason():
    answers = [Answer(1, "urban", AT, GOOD),
               Answer(2, "urban", AT + timedelta(days=1), "已收到。"),
               Answer(3, "urban", AT + timedelta(days=2), "您好，请拨打12319城管热线咨询。"),
               # the same words as answer 1 with another date and phone number: boilerplate
               Answer(4, "urban", AT + timedelta(days=3), GOOD.replace("昨日", "今日") + "电话0724-2333666"),
               # the same text from another unit is that unit's own first answer: not boilerplate
               Answer(5, "water", AT + timedelta(days=3), GOOD)]
    flags = flag_answers(answers, Quality())
    assert kinds(flags, 1) == set() and kinds(flags, 5) == set()
    assert kinds(flags, 2) == {SHORT}
    assert kinds(flags, 3) == {REDIRECT}
    assert kinds(flags, 4) == {BOILERPLATE}
    short = next(f for f in flags if f.key == 2)
    assert short.reason == "4 characters (fewer than 15)"
    twin = next(f for f in flags if f.key == 4)
    assert twin.detail == "1" and "alike" in twin.reason


def test_the_thresholds_come_from_config():
    answers = [Answer(1, "u", AT, "已转交相关部门办理，请耐心等待处理结果。")]
    assert kinds(flag_answers(answers, Quality()), 1) == {REDIRECT}
    assert kinds(flag_answers(answers, Quality(redirect_max_chars=10)), 1) == set()  # longer: says more
    assert kinds(flag_answers(answers, Quality(min_chars=30, redirect_phrases=[])), 1) == {SHORT}


def test_a_long_answer_that_mentions_a_phone_number_is_not_a_redirect():
    long = GOOD + "如有疑问请拨打12319咨询。" + GOOD
    assert flag_answers([Answer(1, "u", AT, long)], Quality()) == []


CAL = WorkCalendar(tz="Asia/Shanghai")
RULE = Deadline(working_days=2)


def test_a_follow_up_over_the_qingming_holiday_is_due_after_it():
    """Answered Friday 1 April 2011; the starter comes back Saturday 2 April. 3-5 April 2011
    were the Qingming holiday (Saturday 2 April a 调休 working day): two working days from
    Saturday noon are Saturday's last 12 hours, Wednesday, and Thursday's first 12 hours."""
    answered = datetime(2011, 4, 1, 10, 0, tzinfo=TZ)
    comeback = ThreadPost(datetime(2011, 4, 2, 12, 0, tzinfo=TZ), "还是没解决，到底有没有人管？", True, None)
    f = follow_up("urban", answered, [comeback], FollowUps(), RULE, CAL, datetime(2011, 4, 5, 12, tzinfo=TZ))
    assert f.state == WAITING and f.due_at == datetime(2011, 4, 7, 12, 0, tzinfo=TZ)
    late = follow_up("urban", answered, [comeback], FollowUps(), RULE, CAL, datetime(2011, 4, 7, 12, 1, tzinfo=TZ))
    assert late.state == UNRESOLVED
    again = ThreadPost(datetime(2011, 4, 6, 9, 0, tzinfo=TZ), "已安排人员复查。", False, "urban")
    done = follow_up("urban", answered, [comeback, again], FollowUps(), RULE, CAL, datetime(2011, 4, 9, tzinfo=TZ))
    assert done.state == RESOLVED and done.answered_at == again.at


def test_thanks_or_another_unit_or_a_post_before_the_answer_are_not_follow_ups():
    answered = datetime(2011, 3, 1, 10, 0, tzinfo=TZ)
    now = datetime(2011, 3, 20, tzinfo=TZ)
    thanks = ThreadPost(answered + timedelta(hours=2), "谢谢，已经修好了。", True, None)
    earlier = ThreadPost(answered - timedelta(hours=2), "还是没解决？", True, None)
    neighbour = ThreadPost(answered + timedelta(hours=3), "还是没解决？", False, None)
    assert follow_up("urban", answered, [thanks, earlier, neighbour], FollowUps(), RULE, CAL, now) is None
    comeback = ThreadPost(answered + timedelta(days=1), "怎么还没人来修", True, None)
    other_unit = ThreadPost(answered + timedelta(days=2), "此事不归我单位管理。", False, "water")
    f = follow_up("urban", answered, [comeback, other_unit], FollowUps(), RULE, CAL, now)
    assert f.state == UNRESOLVED  # only the unit's own answer resolves it
