"""The generic engine's times: configured formats, and relative text in English and Chinese."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scrapers.generic import parse_time

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 13, 0, 0, tzinfo=TZ)


@pytest.mark.parametrize("text,formats,expected,precision", [
    ("2026-11-29 08:15:42", ["%Y-%m-%d %H:%M:%S"], datetime(2026, 11, 29, 8, 15, 42, tzinfo=TZ), 0),
    ("2026年11月29日 08:15", ["%Y年%m月%d日 %H:%M"], datetime(2026, 11, 29, 8, 15, 30, tzinfo=TZ), 30),
    ("2026-11-29T00:15:42+00:00", ["%Y-%m-%dT%H:%M:%S%z"], datetime(2026, 11, 29, 0, 15, 42, tzinfo=timezone.utc), 0),
    ("Nov 29, 2026", ["%b %d, %Y"], datetime(2026, 11, 29, 12, 0, tzinfo=TZ), 43200),
])
def test_absolute_formats_keep_the_precision_shown(text, formats, expected, precision):
    t = parse_time(text, formats, NOW, TZ)
    assert t.at == expected and t.precision == precision


@pytest.mark.parametrize("text,true_time", [
    ("2 hours ago", NOW - timedelta(hours=2, minutes=20)),
    ("an hour ago", NOW - timedelta(hours=1, minutes=10)),
    ("1 week ago", NOW - timedelta(days=8)),
    ("5 minutes ago", NOW - timedelta(minutes=5, seconds=20)),
    ("just now", NOW),
    ("3 天前", NOW - timedelta(days=3)),
    ("昨天 08:30", datetime(2026, 11, 29, 8, 30, 10, tzinfo=TZ)),
])
def test_relative_english_and_chinese(text, true_time):
    t = parse_time(text, [], NOW, TZ)
    assert abs(t.at - true_time) <= timedelta(seconds=t.precision)


def test_unreadable_time_is_none():
    assert parse_time("sometime", ["%Y"], NOW, TZ) is None
