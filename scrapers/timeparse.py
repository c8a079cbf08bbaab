"""Read forum times: absolute ("2026-11-9 10:13:13") and relative ("3 小时前").

Relative times are resolved against the *server's* clock (the response's Date
header), in the forum's zone. Every result carries a precision in seconds: the
half-width of the interval the true time lies in, so that a later, more exact
reading can replace an earlier, vaguer one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_ABSOLUTE = re.compile(
    r"(\d{4})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})(?:\s*日)?"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?)?"  # a 12-hour clock: 10:22 PM
)
_AGO = re.compile(r"(\d+)\s*(秒|分钟|小时|天|周|个月)前")
_DAYS_AGO_AT = re.compile(r"(\d+)\s*天前\s*(\d{1,2}):(\d{2})")  # Discuz! 7: 'N 天前 H:i' (the day's own time)
_LABELLED = re.compile(r"(?:^|\s)(刚刚|刚才|半小时前)$")  # alone or after a label: "发表于 半小时前"
_DAY_WORD = re.compile(r"(昨天|前天|今天)\s*(\d{1,2}):(\d{2})")
_DAY_OFFSETS = {"今天": 0, "昨天": 1, "前天": 2}
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$")  # phpwind: this year's 'm-d[ H:i]'
_UNIT_SECONDS = {"秒": 1, "分钟": 60, "小时": 3600}


@dataclass(frozen=True)
class ForumTime:
    """A time read from a page, in UTC, known to within ``precision`` seconds."""

    at: datetime
    precision: int


def _local(d: date, t: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, t, tzinfo=tz).astimezone(timezone.utc)


def parse_absolute(text: str, tz: ZoneInfo) -> ForumTime | None:
    """Parse "Y-n-j[ H:i[:s][ AM|PM]]" (any padding, also 年月日) as local time in ``tz``."""
    m = _ABSOLUTE.search(text)
    if not m:
        return None
    y, mo, d, h, mi, s, half = m.groups()
    try:
        day = date(int(y), int(mo), int(d))
        if h is None:
            return ForumTime(_local(day, time(12), tz), 12 * 3600)
        hour = int(h) % 12 + (12 if half in ("P", "p") else 0) if half else int(h)
        at = _local(day, time(hour, int(mi), int(s or 0)), tz)
    except ValueError:
        return None
    if s is not None:
        return ForumTime(at, 0)
    return ForumTime(at + timedelta(seconds=30), 30)  # minute shown: mid-minute


def parse_relative(text: str, server_now: datetime, tz: ZoneInfo) -> ForumTime | None:
    """Parse Discuz!'s relative forms (dgmdate 'u') against the server's clock."""
    text = text.replace("\xa0", " ").strip()
    now = server_now.astimezone(timezone.utc)
    word = _LABELLED.search(text)
    if word and word.group(1) != "半小时前":
        return ForumTime(now, 1)
    if word:  # 30 to 60 minutes ago
        return ForumTime(now - timedelta(minutes=45), 15 * 60)
    m = _DAY_WORD.search(text)
    if m:
        today = now.astimezone(tz).date()
        day = today - timedelta(days=_DAY_OFFSETS[m.group(1)])
        at = _local(day, time(int(m.group(2)), int(m.group(3))), tz)
        return ForumTime(at + timedelta(seconds=30), 30)
    m = _DAYS_AGO_AT.search(text)
    if m:  # N calendar days back (dgmdate counts from today's 00:00), at the minute shown
        day = now.astimezone(tz).date() - timedelta(days=int(m.group(1)))
        try:
            at = _local(day, time(int(m.group(2)), int(m.group(3))), tz)
        except ValueError:
            return None
        return ForumTime(at + timedelta(seconds=30), 30)
    m = _MONTH_DAY.match(text)
    if m:
        return _this_year(m, now.astimezone(tz), tz)
    m = _AGO.search(text)
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2)
    if unit in _UNIT_SECONDS:  # N units ago means N to N+1 units ago
        step = _UNIT_SECONDS[unit]
        return ForumTime(now - timedelta(seconds=n * step + step / 2), max(1, step // 2))
    days = {"天": 1, "周": 7, "个月": 30}[unit] * n
    day = now.astimezone(tz).date() - timedelta(days=days)
    return ForumTime(_local(day, time(12), tz), 12 * 3600 if unit == "天" else days * 3600)


def _this_year(m: re.Match, local_now: datetime, tz: ZoneInfo) -> ForumTime | None:
    """'m-d[ H:i]' without a year: this year's date, or last year's when that is still to come."""
    month, day, hour, minute = m.groups()
    try:
        for year in (local_now.year, local_now.year - 1):
            d = date(year, int(month), int(day))
            at = _local(d, time(int(hour), int(minute)) if hour else time(12), tz)
            if at <= local_now.astimezone(timezone.utc) + timedelta(days=1):
                return ForumTime(at + timedelta(seconds=30), 30) if hour else ForumTime(at, 12 * 3600)
    except ValueError:
        return None
    return None


def parse_forum_time(text: str | None, title: str | None, server_now: datetime,
                     tz: ZoneInfo) -> ForumTime | None:
    """Read a displayed time and its optional title attribute; keep the more precise."""
    candidates = []
    for raw in (title, text):
        if raw:
            parsed = parse_absolute(raw, tz) or parse_relative(raw, server_now, tz)
            if parsed:
                candidates.append(parsed)
    if not candidates:
        return None
    return min(candidates, key=lambda c: c.precision)
