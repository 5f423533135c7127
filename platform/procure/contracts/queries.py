"""Reads of the contract and performance pages (a fixed number of queries per page)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from procure.contracts.models import Contract, PerformanceEvaluation
from procure.paging import Page, paginate


def for_tender(session: Session, tender_id: int) -> Contract | None:
    return session.scalar(select(Contract).where(Contract.tender_id == tender_id))


def performances(session: Session, tender_id: int) -> list[PerformanceEvaluation]:
    return list(session.scalars(
        select(PerformanceEvaluation).where(PerformanceEvaluation.tender_id == tender_id)
        .options(selectinload(PerformanceEvaluation.indicators)).order_by(PerformanceEvaluation.id)
    ))


def performance(session: Session, tender_id: int, performance_id: int) -> PerformanceEvaluation | None:
    return session.scalar(
        select(PerformanceEvaluation)
        .where(PerformanceEvaluation.id == performance_id, PerformanceEvaluation.tender_id == tender_id)
    )


def due(session: Session, county_ids: set[int], *, number: int = 1, per_page: int = 50) -> Page:
    """One page of (award, tender title, tender number, organization name) of
    the awards of the counties still without a contract, the nearest limit
    first. Two queries (count, page)."""
    from procure.evaluation.models import Award
    from procure.organizations.models import Organization
    from procure.tenders.models import Tender

    if not county_ids:
        return Page(items=[], total=0, number=1, per_page=per_page)
    return paginate(
        session,
        select(Award, Tender.title, Tender.public_number, Organization.name)
        .join(Tender, Tender.id == Award.tender_id)
        .join(Organization, Organization.id == Award.organization_id)
        .outerjoin(Contract, Contract.award_id == Award.id)
        .where(Tender.county_id.in_(county_ids), Award.annulled_at.is_(None), Contract.id.is_(None))
        .order_by(Award.contract_deadline_at, Award.id),
        number=number, per_page=per_page, scalars=False,
    )


def history(session: Session, organization_id: int, *, limit: int = 100):
    """The organization's public record: its contracts (latest first) with the
    tender's title and every published performance evaluation. Two queries.
    Returns [(contract, tender title, [performance evaluations])]."""
    from procure.tenders.models import Tender

    rows = session.execute(
        select(Contract, Tender.title).join(Tender, Tender.id == Contract.tender_id)
        .where(Contract.organization_id == organization_id)
        .order_by(Contract.signed_on.desc(), Contract.id.desc()).limit(limit)
    ).all()
    by_contract: dict[int, list[PerformanceEvaluation]] = {}
    if rows:
        for p in session.scalars(
            select(PerformanceEvaluation).where(PerformanceEvaluation.contract_id.in_([c.id for c, _t in rows]))
            .order_by(PerformanceEvaluation.id)
        ):
            by_contract.setdefault(p.contract_id, []).append(p)
    return [(c, title, by_contract.get(c.id, [])) for c, title in rows]


def contracts_due(session: Session, county_ids: set[int], now, config) -> list:
    """Officers' due work: awards still without a contract whose signing
    limit is within CONTRACT_WARNING_DAYS days (or passed)."""
    from datetime import timedelta

    from flask_babel import lazy_gettext as _l
    from sqlalchemy import func

    from procure.alerts.digest import DueWork
    from procure.evaluation.models import Award
    from procure.tenders.models import Tender

    horizon = now + timedelta(days=int(config.get("CONTRACT_WARNING_DAYS", 5)))
    count = session.scalar(
        select(func.count(Award.id)).join(Tender, Tender.id == Award.tender_id)
        .outerjoin(Contract, Contract.award_id == Award.id)
        .where(Tender.county_id.in_(county_ids or {-1}), Award.annulled_at.is_(None), Contract.id.is_(None),
               Award.contract_deadline_at <= horizon)
    ) or 0
    return [DueWork(label=_l("五天内须签订的合同"), count=count, link="/manage/contracts")] if count else []
