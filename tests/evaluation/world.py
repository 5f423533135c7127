"""A tender as the evaluation sees it (TenderFacts + opened bids), with real
organizations, officers and evaluators. The tenders/bids models are not used:
the evaluation reads them only through procure.evaluation.tenderfacts."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

from procure.accounts.models import Role
from procure.evaluation.tenderfacts import OpenedBid, TenderFacts
from tests import factories


_HASH: dict[str, str] = {}


def fast_passwords(monkeypatch) -> None:
    """One scrypt hash for every user of the world (as the access matrix does),
    and notifications kept in the outbox (the inbox rows are what the tests
    read; delivering ~40 emails over SMTP took half of the world's build)."""
    from procure.accounts import services as account_services
    from procure.notifications import services as notification_services

    monkeypatch.setattr(notification_services, "dispatch", lambda _ids: None)

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
    tender: object = None

    @property
    def b0(self):
        return self.bids[0].bid_id

    @property
    def b1(self):
        return self.bids[1].bid_id

    @property
    def b2(self):
        return self.bids[2].bid_id


def build(*, comprehensive: bool = True, min_bids: int = 2, prices=("80000.00", "100000.00", "95000.00")):
    """A published tender of 371321 (price weight 30; criteria 服务方案 40 = c0,
    团队与经验 30 = c1), one bid per price by a new verified organization,
    submitted in that order, then opened through the real opening. The
    tender's minimum is set to ``min_bids`` after the opening (the evaluation
    reads it from the tender)."""
    from flask import current_app
    from sqlalchemy import update

    from procure.bids import opening
    from procure.evaluation.tenderfacts import facts_for, opened_bids
    from procure.extensions import db
    from procure.tenders.models import Tender
    from tests.tenders import builders

    overrides = dict(criteria=[{"name": "服务方案", "weight": 40}, {"name": "团队与经验", "weight": 30}],
                     price_weight=30)
    if not comprehensive:
        overrides = dict(evaluation_method="lowest_price", criteria=[], price_weight=None)
    tender = builders.published(**overrides)
    orgs, users = [], []
    for price in prices:
        bid, member, _receipt = builders.submitted_bid(tender, price=D(price))
        orgs.append(bid.organization)
        users.append(member)
    now = builders.pass_deadline(tender)
    tender = db.session.get(Tender, tender.id)
    opening.open_bids(db.session, tender, now=now, keys=current_app.config["SEAL_KEYS"])
    db.session.execute(update(Tender).where(Tender.id == tender.id).values(min_bids=min_bids))
    db.session.commit()
    tender = db.session.get(Tender, tender.id)
    officer = factories.officer("371321")
    evaluators = [factories.user(Role.EVALUATOR) for _ in range(3)]
    bids = opened_bids(db.session, tender.id)
    assert [b.price for b in bids] == [D(p) for p in prices]
    return World(facts_for(tender), bids, orgs, users, officer, evaluators, tender)
