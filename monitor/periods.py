"""Report periods: ``2011Q1``, ``2011-03``, ``2011`` or ``2011-01-01..2011-03-31`` (inclusive)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    """Whole local days [first, last], inclusive."""

    first: date
    last: date
    label: str

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes in ``tz``."""
        zone = ZoneInfo(tz)
        return (datetime.combine(self.first, time(0), zone),
                datetime.combine(self.last + timedelta(days=1), time(0), zone))


def _month_end(y: int, m: int) -> date:
    return (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)


FIRST_YEAR, LAST_YEAR = 1900, 2200  # beyond these a period is a typing mistake (and dates overflow)


def parse_period(text: str) -> Period:
    """Parse a period; raise ValueError with the accepted forms, or for years outside 1900–2200."""
    p = _parse(text)
    if not (FIRST_YEAR <= p.first.year and p.last.year <= LAST_YEAR):
        raise ValueError(f"period {text.strip()!r} is outside the years {FIRST_YEAR}–{LAST_YEAR}")
    return p


def _parse(text: str) -> Period:
    s = text.strip()
    if m := re.fullmatch(r"(\d{4})[Qq]([1-4])", s):
        y, q = int(m.group(1)), int(m.group(2))
        return Period(date(y, 3 * q - 2, 1), _month_end(y, 3 * q), f"{y}Q{q}")
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", s):
        y, mo = int(m.group(1)), int(m.group(2))
        if 1 <= mo <= 12:
            return Period(date(y, mo, 1), _month_end(y, mo), f"{y}-{mo:02d}")
    if m := re.fullmatch(r"(\d{4})", s):
        y = int(m.group(1))
        return Period(date(y, 1, 1), date(y, 12, 31), str(y))
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", s):
        first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        if first <= last:
            return Period(first, last, f"{first}..{last}")
    raise ValueError(f"cannot read period {text!r}: use 2011Q1, 2011-03, 2011 or 2011-01-01..2011-03-31")


_QUARTERS_ZH = "一二三四"
_QUARTERS_EN = ("first", "second", "third", "fourth")


def period_name(p: Period, lang: str = "zh") -> str:
    """The period as an office names it: 2011年第一季度, 2011年3月, 2011年, 2011年1月5日至2月3日."""
    if re.fullmatch(r"\d{4}Q[1-4]", p.label):
        q = int(p.label[-1])
        return f"{p.first.year}年第{_QUARTERS_ZH[q - 1]}季度" if lang == "zh" \
            else f"the {_QUARTERS_EN[q - 1]} quarter of {p.first.year}"
    if re.fullmatch(r"\d{4}-\d{2}", p.label):
        return f"{p.first.year}年{p.first.month}月" if lang == "zh" else f"{p.first:%B %Y}"
    if re.fullmatch(r"\d{4}", p.label):
        return f"{p.first.year}年" if lang == "zh" else str(p.first.year)
    if lang == "zh":
        last = f"{p.last.month}月{p.last.day}日" if p.last.year == p.first.year else chinese_date(p.last)
        return f"{chinese_date(p.first)}至{last}"
    return f"{p.first:%d %B %Y} to {p.last:%d %B %Y}"


def chinese_date(d: date) -> str:
    """2011年4月1日."""
    return f"{d.year}年{d.month}月{d.day}日"


def previous_period(p: Period) -> Period:
    """The period of the same kind just before: the previous quarter, month or year, or the same
    number of days before a custom range."""
    if re.fullmatch(r"\d{4}Q[1-4]", p.label):
        y, q = p.first.year, int(p.label[-1])
        return parse_period(f"{y - 1}Q4" if q == 1 else f"{y}Q{q - 1}")
    if re.fullmatch(r"\d{4}-\d{2}", p.label):
        y, m = p.first.year, p.first.month
        return parse_period(f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}")
    if re.fullmatch(r"\d{4}", p.label):
        return parse_period(str(p.first.year - 1))
    days = (p.last - p.first).days + 1
    first, last = p.first - timedelta(days=days), p.first - timedelta(days=1)
    return Period(first, last, f"{first}..{last}")
