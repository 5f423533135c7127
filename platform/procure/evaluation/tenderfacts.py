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
