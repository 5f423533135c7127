"""What the evaluation needs to know of a tender and its opened bids, in one
place: the only module that reads the tenders/bids models, so the evaluation
rules do not depend on how those are stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Criterion:
    key: str
    name: str
    maximum: Decimal  # points (weight) of the criterion on the 100-point scale


@dataclass(frozen=True)
class OpenedBid:
    bid_id: int
    organization_id: int
    organization_name: str
    price: Decimal
    submitted_at: datetime


@dataclass(frozen=True)
class TenderFacts:
    tender_id: int
    county_id: int
    township_id: int | None
    title: str
    number: str
    comprehensive: bool  # comprehensive scoring; otherwise lowest price
    price_weight: Decimal | None  # percentage points (comprehensive scoring only)
    criteria: tuple[Criterion, ...]  # non-price criteria
    min_bids: int
    published_at: datetime | None


def criterion_key(index: int) -> str:
    """Criteria are keyed by their position in the tender's list (fixed once the
    tender is opened); names may be long."""
    return f"c{index}"


def facts_for(tender) -> TenderFacts:
    """The facts of a ``procure.tenders.models.Tender``. ``price_weight`` and the
    criteria weights are percentage points (they sum to 100)."""
    comprehensive = tender.evaluation_method == "comprehensive"
    criteria = tuple(
        Criterion(criterion_key(i), str(c.get("name", "")), Decimal(str(c.get("weight", 0))))
        for i, c in enumerate(tender.criteria or [])
    ) if comprehensive else ()
    return TenderFacts(
        tender_id=tender.id,
        county_id=tender.county_id,
        township_id=tender.township_id,
        title=tender.title,
        number=tender.public_number or "",
        comprehensive=comprehensive,
        price_weight=Decimal(tender.price_weight) if comprehensive and tender.price_weight is not None else None,
        criteria=criteria,
        min_bids=int(tender.min_bids),
        published_at=tender.published_at,
    )


def opened_bids(session, tender_id: int) -> list[OpenedBid]:
    """The bids of the published opening record (one query), in submission order."""
    from sqlalchemy import select

    from procure.bids.models import Bid, OpeningRecord

    rows = session.execute(
        select(OpeningRecord, Bid.organization_id)
        .join(Bid, Bid.id == OpeningRecord.bid_id)
        .where(OpeningRecord.tender_id == tender_id)
        .order_by(OpeningRecord.submitted_at, OpeningRecord.id)
    ).all()
    return [
        OpenedBid(bid_id=r.bid_id, organization_id=org_id, organization_name=r.organization_name,
                  price=Decimal(r.price), submitted_at=r.submitted_at)
        for r, org_id in rows
    ]


# The tender's status through the evaluation (values of procure.tenders.models.TenderStatus).
EVALUATING = "evaluating"
AWARDED = "awarded"
CONTRACTED = "contracted"
EVALUATED = "evaluated"
FAILED = "failed"
# Statuses in which the opened bids are evaluated, awarded or contracted.
AFTER_OPENING = ("opened", EVALUATING, AWARDED, CONTRACTED, EVALUATED)


def set_status(session, tender_id: int, status: str) -> None:
    """Move the tender to ``status`` (one of the constants above)."""
    from procure.tenders.models import Tender, TenderStatus

    tender = session.get(Tender, tender_id)
    tender.status = TenderStatus(status)
    session.flush()


def cancel(session, tender_id: int, *, reason: str, actor, now) -> None:
    """The tender's cancellation notice (终止公告), by the tenders service."""
    from procure.tenders import services as tender_services
    from procure.tenders.models import Tender

    tender_services.cancel(session, session.get(Tender, tender_id), reason=reason, actor=actor, now=now)


def has_opened_bid(session, tender_id: int, organization_id: int) -> bool:
    """Whether the organization's bid is on the tender's opening record."""
    from sqlalchemy import select

    from procure.bids.models import Bid, OpeningRecord

    return session.scalar(
        select(OpeningRecord.id).join(Bid, Bid.id == OpeningRecord.bid_id)
        .where(OpeningRecord.tender_id == tender_id, Bid.organization_id == organization_id).limit(1)
    ) is not None


def organization_name(session, organization_id: int) -> str:
    from procure.organizations.models import Organization

    org = session.get(Organization, organization_id)
    return org.name if org is not None else ""
