"""Reads of the challenge pages (a fixed number of queries per page)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from procure.challenges.models import Challenge, ChallengeFile, ChallengeStatus
from procure.paging import Page, paginate


def get(session: Session, challenge_id: int) -> Challenge | None:
    return session.scalar(
        select(Challenge).where(Challenge.id == challenge_id).options(selectinload(Challenge.files))
    )


def file_of(session: Session, challenge_id: int, file_id: int) -> ChallengeFile | None:
    return session.scalar(
        select(ChallengeFile).where(ChallengeFile.id == file_id, ChallengeFile.challenge_id == challenge_id)
    )


def of_organization(session: Session, tender_id: int, organization_id: int) -> list[Challenge]:
    return list(session.scalars(
        select(Challenge).where(Challenge.tender_id == tender_id, Challenge.organization_id == organization_id)
        .order_by(Challenge.id)
    ))


def for_counties(session: Session, county_ids: set[int], *, pending: bool, number: int = 1,
                 per_page: int = 50) -> Page:
    """One page of (challenge, tender title, tender number, organization name)
    of the counties: the pending ones (oldest due first) or the answered ones
    (latest first). Two queries (count, page)."""
    from procure.organizations.models import Organization
    from procure.tenders.models import Tender

    if not county_ids:
        return Page(items=[], total=0, number=1, per_page=per_page)
    query = (
        select(Challenge, Tender.title, Tender.public_number, Organization.name)
        .join(Tender, Tender.id == Challenge.tender_id)
        .join(Organization, Organization.id == Challenge.organization_id)
        .where(Challenge.county_id.in_(county_ids))
    )
    if pending:
        query = query.where(Challenge.status == ChallengeStatus.PENDING).order_by(Challenge.reply_due_at, Challenge.id)
    else:
        query = query.where(Challenge.status != ChallengeStatus.PENDING).order_by(Challenge.replied_at.desc(),
                                                                                  Challenge.id.desc())
    return paginate(session, query, number=number, per_page=per_page, scalars=False)


REPLY_DUE_WORK_WORKDAYS = 2  # issue 12: "challenge replies due in 2 working days"


def replies_due(session, county_ids: set[int], now, config) -> list:
    """Officers' due work: pending challenges whose reply is due within
    ``REPLY_DUE_WORK_WORKDAYS`` working days of today (or overdue)."""
    from flask_babel import lazy_gettext as _l
    from sqlalchemy import func

    from procure.alerts.digest import DueWork
    from procure.workdays import services as workdays

    tz = config["TIMEZONE"]
    limit = workdays.working_days_after(session, workdays.local_date(now, tz),
                                        REPLY_DUE_WORK_WORKDAYS).value
    count = session.scalar(
        select(func.count(Challenge.id)).where(
            Challenge.county_id.in_(county_ids or {-1}), Challenge.status == ChallengeStatus.PENDING,
            Challenge.reply_due_at <= workdays.end_of_day(limit, tz),
        )
    ) or 0
    return [DueWork(label=_l("两个工作日内到期的质疑答复"), count=count, link="/manage/challenges")] if count else []
