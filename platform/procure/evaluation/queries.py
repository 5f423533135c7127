"""Reads of the evaluation pages (a fixed number of queries per page)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from procure.evaluation.models import Award, CommitteeMember, Evaluation, EvaluationResult
from procure.paging import Page, paginate


def get(session: Session, evaluation_id: int) -> Evaluation | None:
    return session.scalar(
        select(Evaluation).where(Evaluation.id == evaluation_id).options(selectinload(Evaluation.members))
    )


def current_for_tender(session: Session, tender_id: int) -> Evaluation | None:
    return session.scalar(
        select(Evaluation).where(Evaluation.tender_id == tender_id, Evaluation.current.is_(True))
        .options(selectinload(Evaluation.members))
    )


def assigned_to(session: Session, user_id: int, *, number: int = 1, per_page: int = 50) -> Page:
    """One page of (committee membership, evaluation) of the user, latest
    first, with each evaluation's tender (joined). Two queries (count, page)."""
    from procure.evaluation.models import MemberStatus

    return paginate(
        session,
        select(CommitteeMember, Evaluation).join(Evaluation, Evaluation.id == CommitteeMember.evaluation_id)
        .where(CommitteeMember.user_id == user_id, CommitteeMember.status != MemberStatus.CONFLICTED)
        .order_by(Evaluation.id.desc(), CommitteeMember.id.desc()),
        number=number, per_page=per_page, scalars=False,
    )


def award_for(session: Session, evaluation_id: int) -> Award | None:
    return session.scalar(select(Award).where(Award.evaluation_id == evaluation_id))


def current_award(session: Session, tender_id: int) -> Award | None:
    return session.scalar(
        select(Award).where(Award.tender_id == tender_id, Award.annulled_at.is_(None)).order_by(Award.id.desc())
    )


def results(session: Session, evaluation_id: int) -> list[EvaluationResult]:
    return list(session.scalars(
        select(EvaluationResult).where(EvaluationResult.evaluation_id == evaluation_id)
        .order_by(EvaluationResult.rank.is_(None), EvaluationResult.rank, EvaluationResult.id)
    ))


def notice_for(session: Session, award_id: int, organization_id: int):
    from procure.evaluation.models import AwardNotice

    return session.scalar(
        select(AwardNotice).where(AwardNotice.award_id == award_id, AwardNotice.organization_id == organization_id)
    )
