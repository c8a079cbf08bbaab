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


SPANS = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}


@pytest.mark.parametrize("unit", ["minute", "hour", "day", "week", "month", "year"])
@pytest.mark.parametrize("rounding", ["down", "nearest"])
def test_every_time_that_rounds_to_the_text_is_inside_its_window(unit, rounding):
    """A forum shows the elapsed time rounded down (6 days → "6 days ago") or to the nearest unit
    (6 days → "1 week ago"); whichever, the time read must hold the true time."""
    import math
    lengths = {"month": (28 * 86400, 31 * 86400), "year": (365 * 86400, 366 * 86400)}.get(unit, (SPANS.get(unit),) * 2)
    checked = 0
    for length in set(lengths):
        for elapsed in range(length // 2, 6 * length, max(1, length // 97)):
            units = elapsed / length
            n = math.floor(units) if rounding == "down" else math.floor(units + 0.5)
            if n < 1:
                continue
            text = f"{n} {unit}{'s' if n > 1 else ''} ago" if n > 1 or unit != "hour" else "an hour ago"
            t = parse_time(text, [], NOW, TZ)
            assert abs(t.at - (NOW - timedelta(seconds=elapsed))) <= timedelta(seconds=t.precision), (text, elapsed)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("text,elapsed", [
    ("1 week ago", timedelta(days=6)), ("2 weeks ago", timedelta(days=11)), ("a month ago", timedelta(days=40)),
    ("3 天前", timedelta(days=2, hours=13)), ("2 小时前", timedelta(hours=1, minutes=31)), ("1 个月前", timedelta(days=20)),
])
def test_rounded_texts_seen_on_real_forums(text, elapsed):
    """The cases the issue reports: a week shown for 6 days was read as 10.5 days, outside the window."""
    t = parse_time(text, [], NOW, TZ)
    assert abs(t.at - (NOW - elapsed)) <= timedelta(seconds=t.precision)
    assert t.precision < elapsed.total_seconds() * 1.5  # a window, not "any time at all"


@pytest.mark.parametrize("value,expected,precision", [
    (1796019342, datetime(2026, 11, 30, 6, 15, 42, tzinfo=timezone.utc), 0),
    ("1796019342123", datetime(2026, 11, 30, 6, 15, 42, 123000, tzinfo=timezone.utc), 0),
    ("2026-11-30T14:15:42.5+08:00", datetime(2026, 11, 30, 6, 15, 42, 500000, tzinfo=timezone.utc), 0),
    ("2026-11-30T06:15:42Z", datetime(2026, 11, 30, 6, 15, 42, tzinfo=timezone.utc), 0),
    ("2026-11-30T14:15", datetime(2026, 11, 30, 6, 15, 30, tzinfo=timezone.utc), 30),
])
def test_json_times_epoch_and_iso(value, expected, precision):
    t = parse_time(value, [], NOW, TZ)
    assert (t.at, t.precision) == (expected, precision)


@pytest.mark.parametrize("shown,replies_from,expected", [
    ("12", None, 12), ("12", "posts", 11), ("1,234 回复", None, 1234), ("1.2万", None, 12000),
    ("3.5k", "posts", 3499), ("0", "posts", 0), (7, "posts", 6), ("无", None, None),
])
def test_counts_as_shown(shown, replies_from, expected):
    from scrapers.generic import replies_shown
    assert replies_shown(shown, {"replies_from": replies_from}) == expected


@pytest.mark.parametrize("text", ["2 days 3 hours ago", "2023年前", "99999 days ago"])
def test_compound_or_absurd_relative_text_is_not_read(text):
    assert parse_time(text, [], NOW, TZ) is None


def test_calendar_days_as_discuz_counts_them():
    """Discuz! shows "3 天前" for any hour of the date three days back: 11-26 22:00 seen at 11-29 08:00."""
    now = datetime(2026, 11, 29, 8, 0, tzinfo=TZ)
    t = parse_time("3 天前", [], now, TZ)
    assert abs(t.at - datetime(2026, 11, 26, 22, 0, tzinfo=TZ)) <= timedelta(seconds=t.precision)


@pytest.mark.parametrize("value,formats,expected", [
    ("202611291530", ["%Y%m%d%H%M"], datetime(2026, 11, 29, 15, 30, 30, tzinfo=TZ)),  # a format beats an epoch
    (float("nan"), [], None), (float("inf"), [], None), ("1796019342123456", [], None), (20261129, [], None),
])
def test_numbers_that_are_not_unix_times(value, formats, expected):
    t = parse_time(value, formats, NOW, TZ)
    assert (t.at if t else None) == expected
