"""Sealed bids. Everything that reveals a bid (price, proposal, team,
declarations, attachment names and content) is stored only sealed
(``procure.sealing``); the clear columns say who bid on what and when, which
only the bidder and, after the opening, everyone may see."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, Enum, ForeignKey, Integer, LargeBinary, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.extensions import db
from procure.organizations.models import Organization
from procure.timeutil import utcnow


def _enum(cls, length: int = 16):
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class BidStatus(enum.StrEnum):
    DRAFT = "draft"  # never submitted
    SUBMITTED = "submitted"  # the latest version counts
    WITHDRAWN = "withdrawn"


class Bid(db.Model):
    __tablename__ = "bids"
    __table_args__ = (UniqueConstraint("tender_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[BidStatus] = mapped_column(_enum(BidStatus), default=BidStatus.DRAFT)
    # The working draft (sealed JSON), kept between edits.
    draft_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The latest submitted version (a plain id, no foreign key: bids and
    # versions would otherwise reference each other).
    current_version_id: Mapped[int | None] = mapped_column(Integer)
    # The tender's amendment_count this bid was submitted or confirmed under.
    confirmed_amendments: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship(lazy="joined")
    versions: Mapped[list[BidVersion]] = relationship(
        back_populates="bid", order_by="BidVersion.number", foreign_keys="BidVersion.bid_id")


class VersionKind(enum.StrEnum):
    SUBMISSION = "submission"
    WITHDRAWAL = "withdrawal"
    CONFIRMATION = "confirmation"  # confirms the bid after an amendment


class BidVersion(db.Model):
    """One act on a bid, kept for ever: a submission (sealed content and its
    receipt digest), a withdrawal, or a confirmation after an amendment."""

    __tablename__ = "bid_versions"
    __table_args__ = (UniqueConstraint("bid_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[VersionKind] = mapped_column(_enum(VersionKind))
    # The database server's clock inside the submitting transaction (UTC).
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # SHA-256 over the canonical serialisation of the bid and its attachments.
    digest: Mapped[str] = mapped_column(String(64), default="")
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    bid: Mapped[Bid] = relationship(back_populates="versions", foreign_keys=[bid_id])


class BidFile(db.Model):
    """An attachment, sealed (name, type and content). Immutable once stored."""

    __tablename__ = "bid_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpeningRecord(db.Model):
    """The opening record (开标记录): one row per counted bid, public."""

    __tablename__ = "opening_entries"
    __table_args__ = (UniqueConstraint("tender_id", "bid_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    organization_name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    digest: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
