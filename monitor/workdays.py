"""The official working-day calendar: State Council holidays and 调休 days.

Backed by the ``chinesecalendar`` package. Operator overrides win. For a year
the package has no data for, the calendar falls back to the overrides, else
Monday to Friday, warns once per year and process (however many calendars are built: the
check's, the bulletin's, a reload's), and reports the answer as estimated.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
from loguru import logger

_WARNED_YEARS: set[int] = set()  # years already warned about, in this process
_WARN_LOCK = threading.Lock()


class WorkCalendar:
    """Answers "is this a working day?" and computes working-day deadlines."""

    def __init__(self, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = (),
                 tz: str = "Asia/Shanghai"):
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        self.tz = ZoneInfo(tz)
        self._days: dict[date, tuple[bool, bool]] = {}  # answers so far: the library's lookup is slow

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """(working day?, estimated?) for one date."""
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._look_up(day)
        return known

    def _look_up(self, day: date) -> tuple[bool, bool]:
        if day in self.extra_holidays:
            return False, False
        if day in self.extra_workdays:
            return True, False
        try:
            return chinese_calendar.is_workday(day), False
        except NotImplementedError:
            with _WARN_LOCK:
                if day.year not in _WARNED_YEARS:
                    _WARNED_YEARS.add(day.year)
                    logger.warning(
                        "the official holiday calendar has no data for {}; deadlines that year assume "
                        "Monday-Friday plus calendar.extra_holidays/extra_workdays in config.yaml, "
                        "and are marked estimated", day.year)
            return day.weekday() < 5, True

    def add_working_days(self, start: datetime, days: float) -> tuple[datetime, bool]:
        """The moment ``days`` whole working days of time have passed since ``start``.

        Only time inside working days counts (24 h per working day, local zone):
        a thread posted Friday 10:00 with 2 working days is due Tuesday 10:00;
        one posted Saturday is due at the end of Tuesday.
        Returns (due time in UTC, whether any day used was estimated).
        """
        remaining = timedelta(days=days)
        local = start.astimezone(self.tz)
        day, estimated = local.date(), False
        cursor = local
        for _ in range(3660):  # ten years of days: far more than any rule needs
            workday, guessed = self.is_workday(day)
            estimated |= guessed
            day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
            if workday:
                available = day_end - cursor
                if remaining <= available:
                    return (cursor + remaining).astimezone(timezone.utc), estimated
                remaining -= available
            day += timedelta(days=1)
            cursor = day_end
        raise ValueError(f"cannot add {days} working days to {start}")
