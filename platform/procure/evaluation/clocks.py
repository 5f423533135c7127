"""The legal clocks after the opening (domain.md "Legal clocks"), as pure
functions of the event time, the working calendar and the configured lengths.

Conventions (the same for every clock here):

* The day an event happens is not counted. "N working days after an event" is
  the N-th working day of the official calendar after the event's local date
  (Asia/Shanghai), make-up workdays (调休) included; "N days" counts calendar days.
* A period ends at the end of its last day, 24:00 Asia/Shanghai; the returned
  instant is that moment in UTC (= 00:00 local of the next day). Something
  happening before that instant is in time, at or after it is late.
* ``add_workdays(day, n)`` is the working-calendar function ("N working days
  after date D"); it is passed in so these rules can be checked against any
  calendar (procure.workdays in the application). It returns a date, or an
  answer with ``.value`` (the date) and ``.provisional`` (the count crossed a
  year whose official arrangement is not entered yet); the clocks that use it
  return a ``Deadline`` carrying that flag, so every page can mark it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from procure.timeutil import as_utc

AddWorkdays = Callable[[date, int], object]
DEFAULT_TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class Deadline:
    """The end of a period (exclusive: in time means strictly before ``at``)."""

    at: datetime
    provisional: bool = False

    @property
    def last_day(self) -> date:
        return last_day(self.at)


def _add(add_workdays: AddWorkdays, day: date, n: int) -> tuple[date, bool]:
    result = add_workdays(day, n)
    if isinstance(result, date):
        return result, False
    return result.value, bool(result.provisional)


def local_date(instant: datetime, tz: str = DEFAULT_TZ) -> date:
    return as_utc(instant).astimezone(ZoneInfo(tz)).date()


def end_of_day(day: date, tz: str = DEFAULT_TZ) -> datetime:
    """24:00 local of ``day`` (00:00 of the next day), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(tz)).astimezone(timezone.utc)


def last_day(period_end: datetime, tz: str = DEFAULT_TZ) -> date:
    """The last local day of a period ending at ``period_end`` (an end_of_day instant)."""
    return local_date(as_utc(period_end) - timedelta(microseconds=1), tz)


def workdays_after_day(day: date, n: int, add_workdays: AddWorkdays, tz: str = DEFAULT_TZ) -> Deadline:
    """End of the N-th working day after local day ``day``."""
    if n < 0:
        raise ValueError("n must be >= 0")
    end, provisional = _add(add_workdays, day, n)
    return Deadline(end_of_day(end, tz), provisional)


def workdays_after(event_at: datetime, n: int, add_workdays: AddWorkdays, tz: str = DEFAULT_TZ) -> Deadline:
    """End of the N-th working day after the event's local date."""
    return workdays_after_day(local_date(event_at, tz), n, add_workdays, tz)


def days_after(event_at: datetime, n: int, tz: str = DEFAULT_TZ) -> Deadline:
    """End of the N-th calendar day after the event's local date."""
    if n < 0:
        raise ValueError("n must be >= 0")
    return Deadline(end_of_day(local_date(event_at, tz) + timedelta(days=n), tz))


def publicity_end(notice_at: datetime, workdays: int, add_workdays: AddWorkdays, tz: str = DEFAULT_TZ) -> Deadline:
    """The result publicity (公示期) ends at the end of the ``workdays``-th working
    day after the result notice is published."""
    return workdays_after(notice_at, workdays, add_workdays, tz)


def challenge_deadline_result(
    publicity_ends_at: datetime, workdays: int, add_workdays: AddWorkdays, tz: str = DEFAULT_TZ
) -> Deadline:
    """Challenges against the process or the result: until the end of the
    ``workdays``-th working day after the last day of the publicity."""
    return workdays_after_day(last_day(publicity_ends_at, tz), workdays, add_workdays, tz)


def challenge_deadline_documents(
    published_at: datetime, workdays: int, add_workdays: AddWorkdays, tz: str = DEFAULT_TZ
) -> Deadline:
    """Challenges against the tender documents: until the end of the
    ``workdays``-th working day after the tender's publication."""
    return workdays_after(published_at, workdays, add_workdays, tz)


def reply_due(filed_at: datetime, workdays: int, add_workdays: AddWorkdays, tz: str = DEFAULT_TZ) -> Deadline:
    """The officer's reply to a challenge is due by the end of the
    ``workdays``-th working day after it was filed."""
    return workdays_after(filed_at, workdays, add_workdays, tz)


def contract_deadline(notice_at: datetime, days: int, tz: str = DEFAULT_TZ) -> Deadline:
    """The contract must be signed by the end of the ``days``-th calendar day
    after the result notice."""
    return days_after(notice_at, days, tz)


def contract_warning_from(deadline: Deadline, warning_days: int) -> datetime:
    """From this instant a tender still without a contract is flagged."""
    return as_utc(deadline.at) - timedelta(days=warning_days)


def is_in_time(at: datetime, deadline: Deadline | datetime) -> bool:
    end = deadline.at if isinstance(deadline, Deadline) else deadline
    return as_utc(at) < as_utc(end)


def platform_calendar(session) -> AddWorkdays:
    """The application's working calendar (procure.workdays) as ``add_workdays``."""
    from procure.workdays import services as workdays

    return lambda day, n: workdays.working_days_after(session, day, n)
