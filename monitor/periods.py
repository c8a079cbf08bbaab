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


def parse_period(text: str) -> Period:
    """Parse a period; raise ValueError with the accepted forms."""
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
