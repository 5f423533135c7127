"""A tender as the evaluation sees it (TenderFacts + opened bids), with real
organizations, officers and evaluators. The tenders/bids models are not used:
the evaluation reads them only through procure.evaluation.tenderfacts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal as D

from procure.accounts.models import Role
from procure.evaluation.tenderfacts import Criterion, OpenedBid, TenderFacts
from tests import factories


_HASH: dict[str, str] = {}


def fast_passwords(monkeypatch) -> None:
    """One scrypt hash for every user of the world (as the access matrix does)."""
    from procure.accounts import services as account_services

    if not _HASH:
        _HASH["h"] = account_services.hash_password(factories.PASSWORD)
    monkeypatch.setattr(account_services, "hash_password", lambda _p: _HASH["h"])
    monkeypatch.setattr(account_services, "check_password_strength", lambda *_a, **_k: None)


@dataclass
class World:
    facts: TenderFacts
    bids: list[OpenedBid]
    orgs: list
    bidder_users: list
    officer: object
    evaluators: list


def build(*, comprehensive: bool = True, min_bids: int = 2, prices=("80000.00", "100000.00", "95000.00")):
    officer = factories.officer("371321")
    township = factories.geo_queries.by_code(factories.db.session, "371321101")
    county = factories.county("371321")
    facts = TenderFacts(
        tender_id=7,
        county_id=county.id,
        township_id=township.id,
        title="居家养老上门服务",
        number="371321-2026-0007",
        comprehensive=comprehensive,
        price_weight=D(30) if comprehensive else None,
        criteria=(Criterion("plan", "服务方案", D(40)), Criterion("team", "团队与经验", D(30)))
        if comprehensive else (),
        min_bids=min_bids,
        published_at=datetime(2026, 9, 1, 1, 0, tzinfo=timezone.utc),
    )
    orgs, users, bids = [], [], []
    for i, price in enumerate(prices):
        admin = factories.user()
        org = factories.organization("371321", admin_user=admin, officer_user=officer)
        orgs.append(org)
        users.append(admin)
        bids.append(OpenedBid(bid_id=100 + i, organization_id=org.id, organization_name=org.name,
                              price=D(price), submitted_at=datetime(2026, 9, 20, 1, i, tzinfo=timezone.utc)))
    evaluators = [factories.user(Role.EVALUATOR) for _ in range(3)]
    return World(facts, bids, orgs, users, officer, evaluators)
