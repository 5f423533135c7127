"""The official working calendar (法定节假日 and 调休 make-up workdays).

A year is *entered* when its official arrangement is known: seeded from
``chinesecalendar`` (2004–2026) or typed in by the platform admin. In an
entered year a day is a working day when a ``CalendarDay`` row says so, or,
without a row, when it is Monday to Friday. Days of a year not entered are
computed (Monday–Friday minus the statutory holidays) and *provisional*.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from procure.extensions import db
from procure.timeutil import utcnow


class YearSource(enum.StrEnum):
    CHINESECALENDAR = "chinesecalendar"
    ADMIN = "admin"


class CalendarYear(db.Model):
    __tablename__ = "workday_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[YearSource] = mapped_column(
        Enum(YearSource, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Who entered it (an email, not a foreign key: the calendar is reference
    # data that outlives accounts).
    entered_by: Mapped[str] = mapped_column(String(254), default="")


class CalendarDay(db.Model):
    """A day whose status differs from, or is named beyond, Monday–Friday:
    a holiday (``is_workday`` false) or a make-up workday (true)."""

    __tablename__ = "workday_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(60), default="")
