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


def _bid_by(tender, org, member, price):
    """A submitted bid of an existing organization (as builders.submitted_bid)."""
    from procure.bids import services as bids
    from procure.extensions import db
    from tests.tenders import builders

    bid = bids.get_or_create(db.session, tender, org, today=builders.TODAY)
    content = bids.read_draft(bid, builders.sealer())
    content.price, content.technical, content.team = price, "技术方案", "张三"
    content.declarations = {k: True for k in bids.DECLARATIONS}
    bids.save_draft(db.session, bid, content, sealer=builders.sealer())
    bids.submit(db.session, bid, user=member, sealer=builders.sealer())
    db.session.commit()
    return bid


def build(*, comprehensive: bool = True, min_bids: int = 2, prices=("80000.00", "100000.00", "95000.00"),
          bidders=(), the_item=None):
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
    if the_item is not None:
        overrides["the_item"] = the_item
    tender = builders.published(**overrides)
    orgs, users = [], []
    for i, price in enumerate(prices):
        if i < len(bidders):  # given (organization, member) pairs bid first
            org, member = bidders[i]
            _bid_by(tender, org, member, D(price))
        else:
            bid, member, _receipt = builders.submitted_bid(tender, price=D(price))
            org = bid.organization
        orgs.append(org)
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


def client_as(app, user):
    """A test client signed in as ``user`` through a new login session (as
    Flask-Login stores it; no login form, no password hash) and its CSRF token.
    Commits the current database session."""
    import secrets

    from itsdangerous import URLSafeTimedSerializer

    from procure.accounts import services as account_services
    from procure.extensions import db

    token = account_services.start_session(db.session, user)  # a login session, as the login form starts
    db.session.commit()
    client = app.test_client()
    raw = secrets.token_hex(20)
    with client.session_transaction() as s:
        s["csrf_token"] = raw
        s["_user_id"] = token
        s["_fresh"] = True
    return client, URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def scored(session, w, *, members=2):
    """A committee of ``members`` (the first chairs), every bid qualified and
    scored as in tests/evaluation/test_services.py::_scored (ranks b1, b2, b0;
    totals 89.00, 83.26, 81.00 with three bids)."""
    from procure.evaluation import services

    ev = services.start(session, w.facts, officer=w.officer)
    bidders = {b.organization_id for b in w.bids}
    ms = [services.add_member(session, ev, email=w.evaluators[i].email, chair=i == 0, bidder_org_ids=bidders,
                              facts=w.facts, invited_by=w.officer) for i in range(members)]
    for m in ms:
        services.declare(session, m, conflict=False)
    services.begin_review(session, ev, min_members=2)
    for b in w.bids:
        services.record_qualification(session, ev, b, passed=True, actor=w.officer)
    services.finish_review(session, ev, w.facts, w.bids)
    marks = [("30", "20"), ("38", "28"), ("33", "25")]
    valid = {b.bid_id for b in w.bids}
    for n, m in enumerate(ms):
        services.save_scores(session, m, w.facts, valid, {
            (b.bid_id, key): str(int(marks[i % 3][k]) + n + (i // 3))
            for i, b in enumerate(w.bids) for k, key in enumerate(("c0", "c1"))
        })
        services.submit_sheet(session, m, w.facts, valid)
    return ev, ms


def awarded(session, w, *, now):
    """``scored``, the chair's report and the award to the top-ranked bid at ``now``."""
    from procure.evaluation import clocks, services

    ev, ms = scored(session, w)
    services.submit_report(session, ev, ms[0], w.facts, w.bids)
    top = services.results(session, ev)[0]
    award = services.award(session, ev, w.facts, bid_id=top.bid_id, officer=w.officer,
                           add_workdays=clocks.platform_calendar(session), settings=services.ClockSettings(),
                           now=now)
    session.commit()
    return ev, award
