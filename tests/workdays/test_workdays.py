"""The working calendar: real cases from chinesecalendar's data, the statutory
holidays of years not entered, the year boundary, entering a year."""
from datetime import date

import pytest
from chinese_calendar import constants

from procure.errors import DomainError
from procure.workdays import services as wd
from procure.workdays.models import CalendarYear, YearSource


def test_migration_seeded_every_chinesecalendar_year(session):
    years = {y.year: y.source for y in wd.entered_years(session)}
    assert set(range(2004, 2027)) <= set(years)
    assert all(years[y] == YearSource.CHINESECALENDAR for y in range(2004, 2027))


def test_every_seeded_day_agrees_with_chinesecalendar(session):
    import chinese_calendar

    cal = wd.load(session, range(2024, 2027))
    day = date(2024, 1, 1)
    while day.year < 2027:
        answer = cal.day(day)
        assert answer.value == chinese_calendar.is_workday(day), day
        assert answer.provisional is False
        day = date.fromordinal(day.toordinal() + 1)


def test_spring_festival_2026_with_make_up_saturdays(session):
    # 2026: holiday Feb 15-23; make-up workdays Sat Feb 14 and Sat Feb 28.
    assert constants.workdays[date(2026, 2, 14)] and constants.workdays[date(2026, 2, 28)]
    assert wd.is_working_day(session, date(2026, 2, 14)) == wd.Answer(True, False)  # a Saturday
    assert wd.is_working_day(session, date(2026, 2, 16)) == wd.Answer(False, False)  # a Monday
    # Friday Feb 13 + 1 working day = Saturday Feb 14 (make-up workday).
    assert wd.working_days_after(session, date(2026, 2, 13), 1) == wd.Answer(date(2026, 2, 14), False)
    # + 2: the whole holiday is skipped, next is Tuesday Feb 24.
    assert wd.working_days_after(session, date(2026, 2, 13), 2) == wd.Answer(date(2026, 2, 24), False)
    # Feb 27 (Fri) + 1 = Sat Feb 28 (make-up), + 2 = Mon Mar 2.
    assert wd.working_days_after(session, date(2026, 2, 27), 2).value == date(2026, 3, 2)


def test_national_day_week_2025_with_make_up_days(session):
    # 2025: National Day + Mid-autumn Oct 1-8; make-up Sun Sep 28 and Sat Oct 11.
    assert wd.working_days_after(session, date(2025, 9, 26), 1).value == date(2025, 9, 28)  # Fri -> Sun
    assert wd.working_days_after(session, date(2025, 9, 30), 1).value == date(2025, 10, 9)
    assert wd.working_days_after(session, date(2025, 9, 30), 3).value == date(2025, 10, 11)  # a Saturday
    assert wd.working_days_after(session, date(2025, 9, 30), 4).value == date(2025, 10, 13)


def test_event_day_is_not_counted(session):
    # Monday 2026-03-02 + 3 working days = Thursday 03-05, not Wednesday.
    assert wd.working_days_after(session, date(2026, 3, 2), 3).value == date(2026, 3, 5)
    assert wd.working_days_after(session, date(2026, 3, 2), 0).value == date(2026, 3, 2)


def test_year_boundary_into_a_year_not_entered_is_provisional(session):
    assert session.get(CalendarYear, 2027) is None
    # Wed 2026-12-30 + 3 wd: Thu 31, (Fri 2027-01-01 is New Year's Day), Mon 4, Tue 5.
    answer = wd.working_days_after(session, date(2026, 12, 30), 3)
    assert answer == wd.Answer(date(2027, 1, 5), True)
    # Within 2026 only: not provisional.
    assert wd.working_days_after(session, date(2026, 12, 29), 2) == wd.Answer(date(2026, 12, 31), False)


def test_statutory_holidays_computed_for_years_not_entered():
    days = wd.statutory_holidays(2027)
    # 2027: lunar new year Feb 6, so 除夕 Feb 5 to 初三 Feb 8; 清明 Apr 5;
    # 端午 Jun 9; 中秋 Sep 15.
    assert {d for d, n in days.items() if n == wd.SPRING_FESTIVAL} == {date(2027, 2, d) for d in (5, 6, 7, 8)}
    assert days[date(2027, 4, 5)] == wd.TOMB_SWEEPING
    assert days[date(2027, 6, 9)] == wd.DRAGON_BOAT
    assert days[date(2027, 9, 15)] == wd.MID_AUTUMN
    assert {d for d, n in days.items() if n == wd.NATIONAL_DAY} == {date(2027, 10, d) for d in (1, 2, 3)}
    assert len(days) == 1 + 4 + 1 + 2 + 1 + 1 + 3


@pytest.mark.parametrize("year", [2025, 2026])
def test_computed_statutory_holidays_match_the_official_arrangement(year):
    # Under the 2024 rules every statutory day is an official holiday.
    for day in wd.statutory_holidays(year):
        assert day in constants.holidays, day


def test_provisional_day_of_a_year_not_entered(session):
    assert wd.is_working_day(session, date(2027, 2, 8)) == wd.Answer(False, True)  # 初三, a Monday
    assert wd.is_working_day(session, date(2027, 3, 1)) == wd.Answer(True, True)


def test_entering_a_year_makes_it_final(session):
    holidays = {d: "元旦" for d in (date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3))}
    holidays[date(2027, 1, 4)] = "元旦调休"  # an invented bridging day
    wd.enter_year(session, 2027, holidays=holidays, workdays={date(2027, 1, 9): ""})
    session.commit()
    assert wd.working_days_after(session, date(2026, 12, 30), 3) == wd.Answer(date(2027, 1, 6), False)
    assert wd.is_working_day(session, date(2027, 1, 9)) == wd.Answer(True, False)  # make-up Saturday
    assert wd.missing_next_year(session, date(2026, 11, 28)) is None


def test_missing_next_year_asks_for_2027(session):
    assert wd.missing_next_year(session, date(2026, 11, 28)) == 2027
    assert wd.missing_next_year(session, date(2025, 11, 28)) is None


@pytest.mark.parametrize(
    "holidays, workdays, field",
    [
        ({date(2026, 1, 1): ""}, {}, "holidays"),  # another year
        ({date(2027, 1, 1): ""}, {date(2027, 1, 1): ""}, "workdays"),  # both
        ({date(2027, 1, 1): ""}, {date(2027, 1, 5): ""}, "workdays"),  # a Tuesday as make-up day
        ({}, {}, "holidays"),
    ],
)
def test_bad_year_entries_are_refused_and_change_nothing(session, holidays, workdays, field):
    with pytest.raises(DomainError) as info:
        wd.enter_year(session, 2027, holidays=holidays, workdays=workdays)
    assert info.value.field == field
    session.rollback()
    assert session.get(CalendarYear, 2027) is None


def test_csv_parsing():
    data = "日期,类型,名称\n2027-01-01,休,元旦\n2027-02-20,班,\n".encode()
    holidays, workdays = wd.parse_csv(data)
    assert holidays == {date(2027, 1, 1): "元旦"} and workdays == {date(2027, 2, 20): ""}
    with pytest.raises(DomainError):
        wd.parse_csv(b"2027-13-01,holiday\n")
    with pytest.raises(DomainError):
        wd.parse_csv(b"2027-01-01,maybe\n")
    with pytest.raises(DomainError):
        wd.parse_csv("2027-01-01,休".encode("gbk"))
