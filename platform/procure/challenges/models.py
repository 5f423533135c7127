"""Challenges (质疑) by bidders, with evidence files and the officer's reply.
"""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.extensions import db
from procure.timeutil import utcnow


def _enum(cls, length: int = 20):
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class ChallengeSubject(enum.StrEnum):
    DOCUMENTS = "documents"  # the tender documents
    PROCESS = "process"  # the procurement process
    RESULT = "result"  # the result (award)


SUBJECT_LABELS = {
    ChallengeSubject.DOCUMENTS.value: _l("采购文件"),
    ChallengeSubject.PROCESS.value: _l("采购过程"),
    ChallengeSubject.RESULT.value: _l("成交结果"),
}


class ChallengeStatus(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"  # 质疑成立
    REJECTED = "rejected"  # 质疑不成立


STATUS_LABELS = {
    ChallengeStatus.PENDING.value: _l("待答复"),
    ChallengeStatus.UPHELD.value: _l("质疑成立"),
    ChallengeStatus.REJECTED.value: _l("质疑不成立"),
}


class Challenge(db.Model):
    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[ChallengeSubject] = mapped_column(_enum(ChallengeSubject))
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The deadline the challenge was checked against (shown on the page).
    window_ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reply_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    reply_due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[ChallengeStatus] = mapped_column(_enum(ChallengeStatus), default=ChallengeStatus.PENDING,
                                                    index=True)
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # What an upheld challenge led to: "reopened" (a new evaluation) or "cancelled".
    remedy: Mapped[str] = mapped_column(String(20), default="")
    # Set by the sweep when the reply is overdue and officers were told.
    overdue_flagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    files: Mapped[list[ChallengeFile]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan", order_by="ChallengeFile.id"
    )


class ChallengeFile(db.Model):
    __tablename__ = "challenge_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    challenge: Mapped[Challenge] = relationship(back_populates="files")
