"""The legal clocks after the opening, on the official calendar around National
Day 2026 (chinesecalendar data: 10-01..10-07 off, Saturday 10-10 a make-up
workday; Mid-autumn 09-25..09-27 off)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from procure.evaluation import clocks

SH = ZoneInfo("Asia/Shanghai")


def official_add_workdays(day: date, n: int) -> date:
    """N working days after ``day`` (not counted) on the chinesecalendar data."""
    while n > 0:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return day


def weekdays_only(day: date, n: int) -> date:
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def bj(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def test_calendar_data_is_what_the_examples_assume():
    assert not chinese_calendar.is_workday(date(2026, 10, 1))
    assert not chinese_calendar.is_workday(date(2026, 10, 7))
    assert chinese_calendar.is_workday(date(2026, 10, 10))  # Saturday make-up day
    assert chinese_calendar.is_workday(date(2026, 9, 30))


def test_period_ends_at_midnight_beijing_in_utc():
    # 24:00 of 2026-09-30 in Beijing is 2026-09-30 16:00 UTC.
    assert clocks.end_of_day(date(2026, 9, 30)) == datetime(2026, 9, 30, 16, 0, tzinfo=timezone.utc)
    assert clocks.last_day(clocks.end_of_day(date(2026, 9, 30))) == date(2026, 9, 30)


def test_publicity_is_one_working_day_not_counting_the_notice_day():
    # Notice Tue 2026-09-29 15:00 Beijing; the 29th is not counted, the 1st
    # working day after it is Wed 09-30: publicity ends at 24:00 on 09-30.
    end = clocks.publicity_end(bj(2026, 9, 29, 15), 1, official_add_workdays)
    assert end.at == bj(2026, 10, 1) and not end.provisional
    # 2 working days (configurable) end one working day later... across the
    # holiday: 09-30, then 10-08 (10-01..10-07 off).
    assert clocks.publicity_end(bj(2026, 9, 29, 15), 2, official_add_workdays).at == bj(2026, 10, 9)


def test_publicity_across_national_day():
    # Notice Wed 09-30 at 23:30 Beijing (15:30 UTC, still the 30th locally):
    # next working day is Thu 10-08, publicity ends at 24:00 on 10-08.
    notice = datetime(2026, 9, 30, 15, 30, tzinfo=timezone.utc)
    assert clocks.publicity_end(notice, 1, official_add_workdays).at == bj(2026, 10, 9)
    # Bare Monday-Friday would end it on 10-01, inside the holiday.
    assert clocks.publicity_end(notice, 1, weekdays_only).at == bj(2026, 10, 2)


def test_result_challenge_window_is_7_working_days_across_the_holiday():
    # Publicity ends 24:00 on 09-30 (last day 09-30, not counted).
    # Working days after it: 10-08 (1), 10-09 (2), Sat 10-10 make-up (3),
    # 10-12 (4), 10-13 (5), 10-14 (6), 10-15 (7): challenges until 24:00 10-15.
    publicity_end = bj(2026, 10, 1)
    deadline = clocks.challenge_deadline_result(publicity_end, 7, official_add_workdays)
    assert deadline.at == bj(2026, 10, 16)
    assert deadline.last_day == date(2026, 10, 15)
    assert clocks.is_in_time(bj(2026, 10, 15, 23, 59), deadline)
    assert not clocks.is_in_time(bj(2026, 10, 16, 0, 0), deadline)
    # Without the make-up Saturday it would be 10-16; Monday-Friday only, 10-09.
    assert clocks.challenge_deadline_result(publicity_end, 7, weekdays_only).at == bj(2026, 10, 10)


def test_reply_due_7_working_days_after_filing_across_the_holiday():
    # Filed Mon 09-28 10:00: 09-29 (1), 09-30 (2), 10-08 (3), 10-09 (4),
    # Sat 10-10 (5), 10-12 (6), 10-13 (7): due by 24:00 on 10-13.
    assert clocks.reply_due(bj(2026, 9, 28, 10), 7, official_add_workdays).at == bj(2026, 10, 14)


def test_document_challenges_until_configured_working_days_after_publication():
    # Published Wed 09-23 9:00 (the Mid-autumn days 09-25..09-27 are off):
    # 09-24 (1), [25-27 off], 09-28 (2), 09-29 (3), 09-30 (4), 10-08 (5).
    assert clocks.challenge_deadline_documents(bj(2026, 9, 23, 9), 5, official_add_workdays).at == bj(2026, 10, 9)


def test_contract_limit_is_30_calendar_days_holidays_included():
    # Result notice 09-29 15:00: 30 calendar days later is 10-29 (the holiday
    # week counts); signing allowed until 24:00 on 10-29.
    deadline = clocks.contract_deadline(bj(2026, 9, 29, 15), 30)
    assert deadline.at == bj(2026, 10, 30)
    assert clocks.is_in_time(bj(2026, 10, 29, 23, 59), deadline)
    assert not clocks.is_in_time(bj(2026, 10, 30, 0, 0), deadline)
    # Flagged from 5 days before the limit: 24:00 10-24 (= 10-25 00:00).
    assert clocks.contract_warning_from(deadline, 5) == bj(2026, 10, 25)


def test_negative_lengths_are_refused():
    with pytest.raises(ValueError):
        clocks.workdays_after(bj(2026, 9, 29), -1, official_add_workdays)


def test_a_provisional_calendar_answer_marks_the_deadline():
    class Answer:
        def __init__(self, value, provisional):
            self.value, self.provisional = value, provisional

    def provisional_calendar(day, n):
        return Answer(weekdays_only(day, n), True)

    deadline = clocks.reply_due(bj(2026, 12, 30, 10), 3, provisional_calendar)
    # 12-31 (1), 2027-01-01 Fri (2), 01-04 Mon (3) on bare Mon-Fri, flagged provisional.
    assert deadline.provisional
    assert deadline.last_day == date(2027, 1, 4)


# --- the same rules on the platform's own calendar table (procure.workdays,
# seeded from chinesecalendar by its migration), on PostgreSQL and SQLite ----------


def test_publicity_on_the_platform_calendar(session):
    cal = clocks.platform_calendar(session)
    # Notice on Wed 09-30: the next working day is Thu 10-08.
    end = clocks.publicity_end(bj(2026, 9, 30, 10), 1, cal)
    assert end.at == bj(2026, 10, 9) and not end.provisional


def test_result_challenge_window_on_the_platform_calendar(session):
    cal = clocks.platform_calendar(session)
    # As above: 10-08, 10-09, Sat 10-10 (make-up), 10-12, 10-13, 10-14, 10-15.
    deadline = clocks.challenge_deadline_result(bj(2026, 10, 1), 7, cal)
    assert deadline.last_day == date(2026, 10, 15) and not deadline.provisional


def test_reply_due_into_a_year_not_entered_is_provisional(session):
    cal = clocks.platform_calendar(session)
    # Filed Wed 2026-12-30: 12-31 (1), 2027-01-01 is New Year (statutory, not
    # counted), 01-04 (2) ... 01-08 (6), 01-11 (7); 2027 is not entered.
    deadline = clocks.reply_due(bj(2026, 12, 30, 9), 7, cal)
    assert deadline.last_day == date(2027, 1, 11)
    assert deadline.provisional
