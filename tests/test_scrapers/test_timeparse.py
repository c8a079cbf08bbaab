"""Discuz! times: absolute forms and the relative forms of dgmdate('u'), on the server's clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scrapers.timeparse import parse_absolute, parse_forum_time, parse_relative

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 13, 18, 24, tzinfo=TZ)  # the real pages' fetch time


@pytest.mark.parametrize("text,expected,precision", [
    ("2026-11-9 09:13:13", datetime(2026, 11, 9, 9, 13, 13, tzinfo=TZ), 0),
    ("发表于 2020-2-26 20:39:24", datetime(2020, 2, 26, 20, 39, 24, tzinfo=TZ), 0),
    ("2026-11-20 17:13", datetime(2026, 11, 20, 17, 13, 30, tzinfo=TZ), 30),
    ("2026-11-9", datetime(2026, 11, 9, 12, 0, tzinfo=TZ), 43200),
    ("2011年3月5日 08:00", datetime(2011, 3, 5, 8, 0, 30, tzinfo=TZ), 30),
    ("发表于 2009-12-3 10:22 PM", datetime(2009, 12, 3, 22, 22, 30, tzinfo=TZ), 30),  # a 12-hour timeformat
    ("2009-12-3 12:05 AM", datetime(2009, 12, 3, 0, 5, 30, tzinfo=TZ), 30),
    ("2009-12-3 12:05 pm", datetime(2009, 12, 3, 12, 5, 30, tzinfo=TZ), 30),
])
def test_absolute(text, expected, precision):
    t = parse_absolute(text, TZ)
    assert t.at == expected and t.precision == precision


@pytest.mark.parametrize("text,true_time", [
    ("刚刚", NOW),
    ("12\xa0秒前", NOW - timedelta(seconds=12)),
    ("5\xa0分钟前", NOW - timedelta(minutes=5, seconds=20)),
    ("半小时前", NOW - timedelta(minutes=40)),
    ("3\xa0小时前", NOW - timedelta(hours=3, minutes=5)),
    ("昨天\xa007:13", datetime(2026, 11, 29, 7, 13, 13, tzinfo=TZ)),
    ("前天\xa010:13", datetime(2026, 11, 28, 10, 13, 13, tzinfo=TZ)),
    ("6\xa0天前", datetime(2026, 11, 24, 9, 13, 13, tzinfo=TZ)),
])
def test_relative_forms_contain_the_true_time(text, true_time):
    t = parse_relative(text, NOW.astimezone(timezone.utc), TZ)
    assert abs(t.at - true_time) <= timedelta(seconds=t.precision)


def test_relative_days_count_from_the_forums_midnight_not_utc():
    # 00:30 in Shanghai is still the previous day in UTC: 昨天 must mean the Shanghai yesterday
    server_now = datetime(2011, 4, 1, 0, 30, tzinfo=TZ).astimezone(timezone.utc)
    t = parse_relative("昨天\xa023:50", server_now, TZ)
    assert t.at.astimezone(TZ).date().isoformat() == "2011-03-31"


def test_title_beats_text_when_more_precise_and_text_beats_date_only_title():
    exact = parse_forum_time("6\xa0天前", "2026-11-24 09:13:13", NOW, TZ)
    assert exact.at == datetime(2026, 11, 24, 9, 13, 13, tzinfo=TZ) and exact.precision == 0
    hours = parse_forum_time("9\xa0小时前", "2026-11-30", NOW, TZ)
    assert hours.precision == 1800  # the relative text is finer than a date-only title


def test_unreadable_time_is_none():
    assert parse_forum_time("很久以前", None, NOW, TZ) is None
    assert parse_absolute("2026-13-45 10:00", TZ) is None
