"""Working-day deadlines on the official calendar, across real holidays and 调休 days."""
from __future__ import annotations

from datetime import date

from monitor.workdays import WorkCalendar
from tests.helpers import local


def test_spring_festival_2011_does_not_count():
    # posted Tue 1 Feb 2011 10:00; 2-8 Feb is the Spring Festival holiday
    due, estimated = WorkCalendar().add_working_days(local(2011, 2, 1, 10, 0), 2)
    assert due == local(2011, 2, 10, 10, 0) and not estimated


def test_sunday_in_lieu_counts_as_a_working_day():
    # Fri 28 Jan 2011 10:00: Sun 30 Jan was a 调休 working day, so 2 days end Mon 31 Jan 10:00
    due, _ = WorkCalendar().add_working_days(local(2011, 1, 28, 10, 0), 2)
    assert due == local(2011, 1, 31, 10, 0)


def test_weekend_posting_starts_counting_at_the_next_working_day():
    due, _ = WorkCalendar().add_working_days(local(2011, 3, 5, 15, 0), 2)  # a Saturday
    assert due == local(2011, 3, 9, 0, 0)  # end of Tuesday


def test_national_day_2026():
    due, _ = WorkCalendar().add_working_days(local(2026, 9, 30, 9, 0), 1)
    assert due.astimezone(local(2026, 1, 1).tzinfo).date() >= date(2026, 10, 8)


def test_unknown_year_falls_back_to_weekdays_estimated_and_overrides_apply():
    # chinesecalendar knows 2004-2026: a deadline running into 2027 is estimated, never a crash
    due, estimated = WorkCalendar().add_working_days(local(2026, 12, 31, 10, 0), 2)  # Thursday
    assert estimated and due == local(2027, 1, 4, 10, 0)  # Fri 1 Jan assumed a working day
    # the operator adds New Year's Day 2027 as a holiday: the deadline moves a day later
    due, _ = WorkCalendar(extra_holidays=[date(2027, 1, 1)]).add_working_days(local(2026, 12, 31, 10, 0), 2)
    assert due == local(2027, 1, 5, 10, 0)
    # and a Saturday worked in lieu
    due, _ = WorkCalendar(extra_workdays=[date(2027, 1, 2)]).add_working_days(local(2027, 1, 1, 10, 0), 1)
    assert due == local(2027, 1, 2, 10, 0)


def test_a_date_inside_known_data_is_not_estimated():
    assert WorkCalendar().is_workday(date(2026, 10, 1)) == (False, False)
    assert WorkCalendar().is_workday(date(2027, 3, 1)) == (True, True)


def test_unknown_year_warns_once_per_process_however_many_calendars(caplog_loguru):
    for _ in range(3):  # the check's calendar, the bulletin's, a reload's …
        cal = WorkCalendar()
        cal.add_working_days(local(2031, 5, 6, 10, 0), 2)
        cal.add_working_days(local(2031, 7, 1, 10, 0), 1)
    assert sum("no data for 2031" in m for m in caplog_loguru) == 1
