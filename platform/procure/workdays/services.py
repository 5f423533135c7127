"""Working days of the official Chinese calendar.

``is_working_day`` and ``working_days_after`` are the one place that answers
"is D a working day" and "N working days after D" (the day of the event is
not counted). Each answer says whether it is *provisional*: it depends on a
day of a year whose official arrangement has not been entered, so it was
computed as Monday–Friday minus the statutory holidays, which the law fixes
(国务院《全国年节及纪念日放假办法》, 2024), leaving only the announced bridging
days and make-up workdays unknown.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from procure.errors import DomainError
from procure.timeutil import utcnow
from procure.workdays.models import CalendarDay, CalendarYear, YearSource

# Names of the statutory holidays (the State Council's English names, as
# chinesecalendar uses them).
NEW_YEAR = "New Year's Day"
SPRING_FESTIVAL = "Spring Festival"
TOMB_SWEEPING = "Tomb-sweeping Day"
LABOUR_DAY = "Labour Day"
DRAGON_BOAT = "Dragon Boat Festival"
MID_AUTUMN = "Mid-autumn Festival"
NATIONAL_DAY = "National Day"
MAKE_UP_WORKDAY = "Make-up workday"

# Years the lunar library computes (lunar-python covers far more; bounded
# here so hostile input cannot ask for year 99999).
MIN_YEAR, MAX_YEAR = 1950, 2100


@dataclass(frozen=True)
class Answer:
    value: object
    provisional: bool


def statutory_holidays(year: int) -> dict[date, str]:
    """The statutory public holidays of ``year`` by the 2024 rules: 元旦 1 day;
    春节 4 days (除夕 to 正月初三); 清明 1; 劳动节 5/1–5/2; 端午 1; 中秋 1;
    国庆 10/1–10/3. Bridging days and make-up workdays are announced yearly
    and are not included."""
    from lunar_python import Lunar

    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DomainError(_l("年份超出范围。"), field="year")

    def lunar(month: int, day: int) -> date:
        solar = Lunar.fromYmd(year, month, day).getSolar()
        return date(solar.getYear(), solar.getMonth(), solar.getDay())

    days: dict[date, str] = {date(year, 1, 1): NEW_YEAR}
    new_year = lunar(1, 1)
    for offset in range(-1, 3):  # 除夕 .. 正月初三
        day = new_year + timedelta(days=offset)
        if day.year == year:
            days[day] = SPRING_FESTIVAL
    # 除夕 of next year's festival may fall on Dec 31 of this year? Never: the
    # lunar new year is between Jan 21 and Feb 20.
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    days[date(qingming.getYear(), qingming.getMonth(), qingming.getDay())] = TOMB_SWEEPING
    days[date(year, 5, 1)] = LABOUR_DAY
    days[date(year, 5, 2)] = LABOUR_DAY
    days[lunar(5, 5)] = DRAGON_BOAT
    days[lunar(8, 15)] = MID_AUTUMN
    for d in (1, 2, 3):
        days[date(year, 10, d)] = NATIONAL_DAY
    return days


class WorkCalendar:
    """The calendar as loaded from the database for some years (a snapshot;
    build it with ``load``)."""

    def __init__(self, entered: set[int], days: dict[date, bool], loaded_years: set[int]):
        self.entered = entered
        self.days = days
        self.loaded_years = loaded_years
        self._computed: dict[int, dict[date, str]] = {}

    def day(self, d: date) -> Answer:
        if d.year in self.entered:
            if d in self.days:
                return Answer(self.days[d], False)
            return Answer(d.weekday() < 5, False)
        holidays = self._computed.get(d.year)
        if holidays is None:
            holidays = self._computed[d.year] = statutory_holidays(d.year)
        return Answer(d.weekday() < 5 and d not in holidays, True)


def load(session: Session, years: set[int] | range) -> WorkCalendar:
    years = set(years)
    entered = set(session.scalars(select(CalendarYear.year).where(CalendarYear.year.in_(years))))
    rows = session.execute(
        select(CalendarDay.day, CalendarDay.is_workday).where(CalendarDay.year.in_(entered))
    ).all() if entered else []
    return WorkCalendar(entered, {day: bool(flag) for day, flag in rows}, years)


def is_working_day(session: Session, d: date) -> Answer:
    """Whether ``d`` is a working day (``Answer.value`` is a bool)."""
    return load(session, {d.year}).day(d)


def working_days_after(session: Session, d: date, n: int) -> Answer:
    """The date ``n`` working days after ``d`` (``d`` itself is not counted;
    ``n`` = 0 gives ``d``). Provisional when any day counted or skipped lies
    in a year not entered."""
    if n < 0:
        raise ValueError("n must be >= 0")
    # A generous window: long holiday weeks never take more than ~10 extra days.
    last = d + timedelta(days=n * 2 + 20)
    cal = load(session, range(d.year, last.year + 2))
    provisional = False
    current, counted = d, 0
    while counted < n:
        current += timedelta(days=1)
        if current.year not in cal.loaded_years:
            cal = load(session, range(d.year, current.year + 2))
        answer = cal.day(current)
        provisional = provisional or answer.provisional
        if answer.value:
            counted += 1
    return Answer(current, provisional)


def end_of_day(d: date, tz: str) -> datetime:
    """The last second of local day ``d``, in UTC (a deadline "on day D")."""
    local = datetime.combine(d, time(23, 59, 59), tzinfo=ZoneInfo(tz))
    return local.astimezone(ZoneInfo("UTC"))


def local_date(moment: datetime, tz: str) -> date:
    from procure.timeutil import localtime

    return localtime(moment, tz).date()


# --- entering a year -------------------------------------------------------------


def entered_years(session: Session) -> list[CalendarYear]:
    return list(session.scalars(select(CalendarYear).order_by(CalendarYear.year)))


def missing_next_year(session: Session, today: date) -> int | None:
    """Next year, when its arrangement has not been entered yet (admin banner)."""
    year = today.year + 1
    return None if session.get(CalendarYear, year) is not None else year


def enter_year(session: Session, year: int, *, holidays: dict[date, str], workdays: dict[date, str],
               actor=None, source: YearSource = YearSource.ADMIN) -> CalendarYear:
    """Record the official arrangement of ``year``: its holiday days (statutory
    and bridging, weekends inside a holiday week may be listed too) and its
    make-up workdays. Replaces what was entered for that year. Flushes."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DomainError(_l("年份超出范围。"), field="year")
    for field, days in (("holidays", holidays), ("workdays", workdays)):
        for day in days:
            if day.year != year:
                raise DomainError(_l("日期 %(d)s 不在 %(y)s 年内。", d=day.isoformat(), y=year), field=field)
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise DomainError(_l("日期 %(d)s 不能既是假日又是工作日。", d=both[0].isoformat()), field="workdays")
    weekday_workdays = [d for d in workdays if d.weekday() < 5]
    if weekday_workdays:
        raise DomainError(
            _l("调休工作日 %(d)s 不是周末：只需填写周六或周日上班的日期。", d=weekday_workdays[0].isoformat()),
            field="workdays",
        )
    if not holidays:
        raise DomainError(_l("请至少填写一个节假日。"), field="holidays")
    session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    for day, name in sorted(holidays.items()):
        session.add(CalendarDay(day=day, year=year, is_workday=False, name=(name or "")[:60]))
    for day, name in sorted(workdays.items()):
        session.add(CalendarDay(day=day, year=year, is_workday=True, name=(name or MAKE_UP_WORKDAY)[:60]))
    row = session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        session.add(row)
    row.source = source
    row.entered_at = utcnow()
    row.entered_by = actor.email if actor is not None else ""
    session.flush()
    return row


HOLIDAY_WORDS = {"holiday", "休", "假", "假日", "节假日"}
WORKDAY_WORDS = {"workday", "班", "上班", "调休", "工作日"}
MAX_CSV_LINES = 400


def parse_days(text: str, *, field: str) -> dict[date, str]:
    """Dates typed one per line (``2027-02-06`` or ``2027-02-06 春节``)."""
    days: dict[date, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if number > MAX_CSV_LINES:
            raise DomainError(_l("行数过多。"), field=field)
        head, _, name = line.replace("，", " ").replace(",", " ").partition(" ")
        days[_parse_date(head, number, field)] = name.strip()
    return days


def _parse_date(text: str, number: int, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(
            _l("第 %(n)s 行：“%(v)s” 不是 YYYY-MM-DD 格式的日期。", n=number, v=text.strip()[:20]), field=field
        ) from None


def parse_csv(data: bytes) -> tuple[dict[date, str], dict[date, str]]:
    """A CSV of ``date,kind[,name]`` rows, kind ``holiday``/``休`` or
    ``workday``/``班``; a header row is allowed."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(_l("CSV 文件必须是 UTF-8 编码。"), field="csv_file") from None
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if number > MAX_CSV_LINES:
            raise DomainError(_l("行数过多。"), field="csv_file")
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() in {"date", "日期"}:
            continue
        if len(cells) < 2:
            raise DomainError(_l("第 %(n)s 行：需要“日期,类型”两列。", n=number), field="csv_file")
        day = _parse_date(cells[0], number, "csv_file")
        kind = cells[1].lower()
        name = cells[2] if len(cells) > 2 else ""
        if kind in HOLIDAY_WORDS:
            holidays[day] = name
        elif kind in WORKDAY_WORDS:
            workdays[day] = name
        else:
            raise DomainError(
                _l("第 %(n)s 行：类型必须是 holiday（休）或 workday（班）。", n=number), field="csv_file"
            )
    return holidays, workdays


def seed_from_chinesecalendar(session: Session) -> list[int]:
    """Enter every year that ``chinesecalendar`` knows and that is not entered
    yet (idempotent). Returns the years entered."""
    from chinese_calendar import constants

    by_year: dict[int, tuple[dict, dict]] = {}
    for day, name in constants.holidays.items():
        by_year.setdefault(day.year, ({}, {}))[0][day] = str(name)
    for day, name in constants.workdays.items():
        by_year.setdefault(day.year, ({}, {}))[1][day] = str(name)
    have = {y.year for y in entered_years(session)}
    done = []
    for year in sorted(by_year):
        if year in have:
            continue
        holidays, workdays = by_year[year]
        enter_year(session, year, holidays=holidays, workdays=workdays, source=YearSource.CHINESECALENDAR)
        done.append(year)
    return done
