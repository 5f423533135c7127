"""Signed contracts (published as contract notices) and performance
evaluations (绩效评价) of the delivered service.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, DateTime, Enum, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.extensions import db
from procure.timeutil import utcnow


def _enum(cls, length: int = 20):
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Contract(db.Model):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), unique=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), unique=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    number: Mapped[str] = mapped_column(String(60))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    signed_on: Mapped[date] = mapped_column(Date)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # Stable recurring service: the longer term limit applies.
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Grade(enum.StrEnum):
    EXCELLENT = "excellent"  # 优秀 ≥ 90
    GOOD = "good"  # 良好 ≥ 80
    PASS = "pass"  # 合格 ≥ 60
    FAIL = "fail"  # 不合格 < 60


GRADE_LABELS = {
    Grade.EXCELLENT.value: _l("优秀"),
    Grade.GOOD.value: _l("良好"),
    Grade.PASS.value: _l("合格"),
    Grade.FAIL.value: _l("不合格"),
}


class IndicatorKind(enum.StrEnum):
    OUTPUT = "output"  # 产出指标
    EFFECT = "effect"  # 效益指标
    SATISFACTION = "satisfaction"  # 满意度指标


INDICATOR_LABELS = {
    IndicatorKind.OUTPUT.value: _l("产出指标"),
    IndicatorKind.EFFECT.value: _l("效益指标"),
    IndicatorKind.SATISFACTION.value: _l("满意度指标"),
}


class PerformanceEvaluation(db.Model):
    __tablename__ = "performance_evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    total: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    grade: Mapped[Grade] = mapped_column(_enum(Grade))
    summary: Mapped[str] = mapped_column(Text, default="")
    report_filename: Mapped[str] = mapped_column(String(200), default="")
    report_stored_name: Mapped[str] = mapped_column(String(100), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    indicators: Mapped[list[PerformanceIndicator]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", order_by="PerformanceIndicator.id"
    )


class PerformanceIndicator(db.Model):
    __tablename__ = "performance_indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("performance_evaluations.id", ondelete="CASCADE"),
                                               index=True)
    kind: Mapped[IndicatorKind] = mapped_column(_enum(IndicatorKind))
    name: Mapped[str] = mapped_column(String(200))
    maximum: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    score: Mapped[Decimal] = mapped_column(Numeric(7, 2))

    evaluation: Mapped[PerformanceEvaluation] = relationship(back_populates="indicators")
