"""Tenders (采购项目): from a catalog item to the opening."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, DateTime, Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.catalog.models import Item
from procure.extensions import db
from procure.geo.models import Division
from procure.timeutil import utcnow


def _enum(cls, length: int = 32):
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class TenderStatus(enum.StrEnum):
    DRAFT = "draft"
    TENDERING = "tendering"  # published, bids accepted until the deadline
    OPENED = "opened"  # opening record published (evaluation comes next)
    FAILED = "failed"  # 流标: fewer bids than the minimum at the opening
    CANCELLED = "cancelled"  # 终止公告
    HALTED = "halted"  # opening stopped: a bid failed its integrity check (admin)
    # After the opening (set by procure.evaluation, issue 11):
    EVALUATING = "evaluating"  # the committee is at work
    AWARDED = "awarded"  # result notice published (publicity, challenges)
    CONTRACTED = "contracted"  # contract notice published
    EVALUATED = "evaluated"  # performance evaluation published


TENDER_STATUS_LABELS = {
    TenderStatus.DRAFT.value: _l("草稿"),
    TenderStatus.TENDERING.value: _l("招标中"),
    TenderStatus.OPENED.value: _l("已开标"),
    TenderStatus.FAILED.value: _l("流标"),
    TenderStatus.CANCELLED.value: _l("已终止"),
    TenderStatus.HALTED.value: _l("开标中止（完整性错误）"),
    TenderStatus.EVALUATING.value: _l("评审中"),
    TenderStatus.AWARDED.value: _l("已定标"),
    TenderStatus.CONTRACTED.value: _l("已签订合同"),
    TenderStatus.EVALUATED.value: _l("已完成绩效评价"),
}

METHOD_LABELS = {
    "open_tender": _l("公开招标"),
    "invited_tender": _l("邀请招标"),
    "competitive_consultation": _l("竞争性磋商"),
    "competitive_negotiation": _l("竞争性谈判"),
    "request_for_quotation": _l("询价"),
    "single_source": _l("单一来源"),
}

EVALUATION_LABELS = {
    "comprehensive": _l("综合评分法"),
    "lowest_price": _l("最低评标价法"),
    "negotiated": _l("协商确定"),
}


class Tender(db.Model):
    __tablename__ = "tenders"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_items.id"), index=True)
    status: Mapped[TenderStatus] = mapped_column(_enum(TenderStatus, 16), default=TenderStatus.DRAFT, index=True)
    # County + year + sequence, e.g. 371321-2026-0007; set at publication.
    public_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    max_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    service_start: Mapped[date | None] = mapped_column(Date)
    service_end: Mapped[date | None] = mapped_column(Date)
    service_place: Mapped[str] = mapped_column(String(300), default="")
    method: Mapped[str] = mapped_column(String(32))
    undertaker_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    mass_org_first: Mapped[bool] = mapped_column(Boolean, default=False)
    min_bids: Mapped[int] = mapped_column(Integer)
    enquiry_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bid_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    evaluation_method: Mapped[str] = mapped_column(String(32), default="comprehensive")
    # [{"name": "服务方案", "weight": 40}, ...] without the price; price_weight apart.
    criteria: Mapped[list[dict]] = mapped_column(JSON, default=list)
    price_weight: Mapped[int | None] = mapped_column(Integer)
    # The time of the next due event (the bid deadline while tendering).
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # Amendments that bidders must confirm (their bids are counted only if
    # confirmed or revised after the latest such amendment).
    amendment_count: Mapped[int] = mapped_column(Integer, default=0)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    halt_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    county: Mapped[Division] = relationship(foreign_keys=[county_id], lazy="joined")
    township: Mapped[Division] = relationship(foreign_keys=[township_id], lazy="joined")
    item: Mapped[Item] = relationship(lazy="joined")
    documents: Mapped[list[TenderDocument]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="TenderDocument.id")
    amendments: Mapped[list[Amendment]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="Amendment.number")
    questions: Mapped[list[Question]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="Question.id")

    @property
    def is_public(self) -> bool:
        return self.status != TenderStatus.DRAFT

    @property
    def method_config(self) -> dict:
        from flask import current_app

        return current_app.config["PROCUREMENT_METHODS"][self.method]


class TenderCounter(db.Model):
    """The last public number given per county and year (locked FOR UPDATE
    while numbering, so concurrent publications never share or skip one)."""

    __tablename__ = "tender_counters"

    county_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), primary_key=True, autoincrement=False)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class TenderDocument(db.Model):
    """A tender document (招标文件), public once the tender is published."""

    __tablename__ = "tender_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tender: Mapped[Tender] = relationship(back_populates="documents")


class Amendment(db.Model):
    """An amendment notice (更正公告)."""

    __tablename__ = "tender_amendments"
    __table_args__ = (UniqueConstraint("tender_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    # [{"field": "bid_deadline", "old": "...", "new": "..."}]
    changes: Mapped[list[dict]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    tender: Mapped[Tender] = relationship(back_populates="amendments")


class Question(db.Model):
    """An enquiry (询问): public with its answer, never with the asker's identity."""

    __tablename__ = "tender_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The legal clock: answered within N working days (a local date).
    answer_due: Mapped[date] = mapped_column(Date)
    answer_due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    tender: Mapped[Tender] = relationship(back_populates="questions")
