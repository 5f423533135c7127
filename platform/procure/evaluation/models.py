"""Evaluation of the opened bids of a tender and the award.

One ``Evaluation`` per tender (created by the officer after the opening) with
its committee; qualification decisions per bid; each member's score sheet
(``MemberScore`` rows, sealed by ``CommitteeMember.sheet_submitted_at``); the
chair's report freezes the computed ``EvaluationResult`` rows (read-only from
then on). The ``Award`` is the officer's decision with its result notice and
publicity period; ``AwardNotice`` records the notice each bidder receives
(award / not awarded) with its own score, rank and disqualification reason.
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.accounts.models import User
from procure.extensions import db
from procure.timeutil import utcnow

MONEY = Numeric(14, 2)
SCORE = Numeric(7, 2)


def _enum(cls, length: int = 20):
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class EvaluationState(enum.StrEnum):
    SETUP = "setup"  # committee being formed, declarations
    REVIEW = "review"  # every member declared: qualification review
    SCORING = "scoring"  # qualification done: members score
    REPORTED = "reported"  # the chair submitted the report: read-only
    FAILED = "failed"  # 废标: fewer valid bids than the minimum
    AWARDED = "awarded"  # the officer confirmed a winner
    REOPENED = "reopened"  # an upheld challenge re-opened it (superseded by a new one)


EVALUATION_STATE_LABELS = {
    EvaluationState.SETUP.value: _l("组建评审委员会"),
    EvaluationState.REVIEW.value: _l("资格和符合性审查"),
    EvaluationState.SCORING.value: _l("评分"),
    EvaluationState.REPORTED.value: _l("评审报告已提交"),
    EvaluationState.FAILED.value: _l("废标"),
    EvaluationState.AWARDED.value: _l("已确定成交供应商"),
    EvaluationState.REOPENED.value: _l("已重新评审"),
}


class MemberKind(enum.StrEnum):
    EVALUATOR = "evaluator"  # 评审专家
    PURCHASER = "purchaser"  # 采购人代表


class MemberStatus(enum.StrEnum):
    INVITED = "invited"  # must declare before seeing any bid
    DECLARED = "declared"  # declared no conflict of interest
    CONFLICTED = "conflicted"  # declared a conflict: removed, to be replaced


class Evaluation(db.Model):
    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    # The current evaluation of a tender; an upheld challenge may start a new one.
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[EvaluationState] = mapped_column(_enum(EvaluationState), default=EvaluationState.SETUP)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    report_text: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_reason: Mapped[str] = mapped_column(Text, default="")
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    members: Mapped[list[CommitteeMember]] = relationship(
        back_populates="evaluation", order_by="CommitteeMember.id", cascade="all, delete-orphan"
    )
    tender = relationship("Tender", lazy="joined")


class CommitteeMember(db.Model):
    __tablename__ = "committee_members"
    __table_args__ = (UniqueConstraint("evaluation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MemberKind] = mapped_column(_enum(MemberKind), default=MemberKind.EVALUATOR)
    is_chair: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[MemberStatus] = mapped_column(_enum(MemberStatus), default=MemberStatus.INVITED)
    declared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    conflict_note: Mapped[str] = mapped_column(Text, default="")
    # Set once: the member's sheet is sealed and counted from then on.
    sheet_submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    evaluation: Mapped[Evaluation] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.status != MemberStatus.CONFLICTED


class Qualification(db.Model):
    """The committee's qualification and compliance decision on one bid."""

    __tablename__ = "bid_qualifications"
    __table_args__ = (UniqueConstraint("evaluation_id", "bid_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    # Required when it fails; the bidder sees it.
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MemberScore(db.Model):
    """One member's score of one bid on one non-price criterion."""

    __tablename__ = "member_scores"
    __table_args__ = (UniqueConstraint("member_id", "bid_id", "criterion_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_members.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    criterion_key: Mapped[str] = mapped_column(String(40))
    score: Mapped[Decimal] = mapped_column(SCORE)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class EvaluationResult(db.Model):
    """A bid's line of the submitted report (frozen when the chair submits)."""

    __tablename__ = "evaluation_results"
    __table_args__ = (UniqueConstraint("evaluation_id", "bid_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    price: Mapped[Decimal] = mapped_column(MONEY)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    qualified: Mapped[bool] = mapped_column(Boolean)
    disqualification_reason: Mapped[str] = mapped_column(Text, default="")
    price_score: Mapped[Decimal | None] = mapped_column(SCORE)
    non_price_score: Mapped[Decimal | None] = mapped_column(SCORE)
    total: Mapped[Decimal | None] = mapped_column(SCORE)
    # Criterion key -> committee score (decimal strings), for the comparison page.
    criterion_scores: Mapped[dict] = mapped_column(db.JSON, default=dict)
    rank: Mapped[int | None] = mapped_column(Integer)


class Award(db.Model):
    __tablename__ = "awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"), unique=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    # Required when the winner is not the top-ranked bid.
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    notice_published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    publicity_ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    publicity_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    challenge_deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    challenge_deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    contract_deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The last contract flag the officers were told of ("due_soon", "overdue"; the sweep).
    contract_flag: Mapped[str] = mapped_column(String(10), default="")
    # An upheld challenge may annul the award (the evaluation is re-opened or the tender cancelled).
    annulled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NoticeKind(enum.StrEnum):
    AWARDED = "awarded"  # 成交通知书
    NOT_AWARDED = "not_awarded"  # 未成交通知


class AwardNotice(db.Model):
    """The notice each bidder gets at the award, with its own figures."""

    __tablename__ = "award_notices"
    __table_args__ = (UniqueConstraint("award_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    kind: Mapped[NoticeKind] = mapped_column(_enum(NoticeKind))
    total: Mapped[Decimal | None] = mapped_column(SCORE)
    rank: Mapped[int | None] = mapped_column(Integer)
    disqualification_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
