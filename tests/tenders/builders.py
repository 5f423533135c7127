"""Builders of tenders and bids through the real services."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, update

from procure.bids import files
from procure.bids import services as bids
from procure.catalog.models import Item
from procure.clock import db_now
from procure.extensions import db
from procure.geo import queries as geo_queries
from procure.tenders import services as tenders
from procure.tenders.models import Tender
from procure.timeutil import utcnow
from tests import factories

TOWNSHIP = "371321101"
PRICE = Decimal("123456.78")
TODAY = date.today()  # eligibility date (suspensions); the tests' organizations are not suspended


def rules() -> tenders.Rules:
    return tenders.Rules.from_config(current_app.config)


def sealer() -> bids.Sealer:
    return bids.Sealer.from_config(current_app.config)


def limits() -> files.ArchiveLimits:
    c = current_app.config
    return files.ArchiveLimits.from_config(c)


def item(county_code: str = "371321") -> Item:
    existing = db.session.scalars(select(Item).order_by(Item.id)).first()
    if existing is not None and existing.catalog.county.code == county_code and existing.catalog.is_public:
        return existing
    catalog = factories.catalog_with_items(county_code)
    return catalog.items[0]


def data(now: datetime | None = None, **overrides) -> tenders.TenderData:
    now = now or utcnow()
    township = geo_queries.by_code(db.session, TOWNSHIP)
    values = dict(
        township_id=township.id, title="2027年居家养老上门服务", description="为辖区老人提供上门服务",
        budget=Decimal("200000.00"), max_price=Decimal("180000.00"),
        service_start=date(2027, 1, 1), service_end=date(2027, 12, 31), service_place="界湖街道",
        method="open_tender", enquiry_deadline=now + timedelta(days=10), bid_deadline=now + timedelta(days=21),
        evaluation_method="comprehensive",
        criteria=[{"name": "服务方案", "weight": 50}, {"name": "团队", "weight": 30}], price_weight=20,
    )
    values.update(overrides)
    return tenders.TenderData(**values)


def draft(now=None, the_item=None, **overrides) -> Tender:
    officer = factories.officer()
    tender = tenders.create_draft(db.session, the_item or item(), data(now, **overrides), actor=officer,
                                  rules=rules())
    db.session.commit()
    return tender


def published(now=None, **overrides) -> Tender:
    now = now or utcnow()
    tender = draft(now, **overrides)
    tenders.publish(db.session, tender, actor=None, now=now, rules=rules())
    db.session.commit()
    return tender


def bidder(county_code: str = "371321"):
    """A verified organization and one member. Returns (org, user)."""
    org = factories.organization(county_code)
    return org, factories.org_member(org)


def submitted_bid(tender: Tender, *, price: Decimal = PRICE, technical: str = "技术方案：每周上门两次",
                  attachment: bytes | None = None, who=None):
    org, member = who or bidder()
    bid = bids.get_or_create(db.session, tender, org, today=TODAY)
    if attachment is not None:
        bids.add_file(db.session, bid, filename="方案.pdf", data=attachment, max_bytes=10**7, max_count=10,
                      limits=limits(), sealer=sealer())
    content = bids.read_draft(bid, sealer())
    content.price, content.technical, content.team = price, technical, "张三、李四"
    content.declarations = {k: True for k in bids.DECLARATIONS}
    bids.save_draft(db.session, bid, content, sealer=sealer())
    receipt = bids.submit(db.session, bid, user=member, sealer=sealer())
    db.session.commit()
    return bid, member, receipt


def pass_deadline(tender: Tender) -> datetime:
    """Move the tender's deadline into the past by the database clock (as if
    the clock had moved); returns a 'now' after it."""
    past = db_now(db.session) - timedelta(seconds=1)
    db.session.execute(update(Tender).where(Tender.id == tender.id).values(bid_deadline=past, next_due_at=past))
    db.session.commit()
    db.session.expire_all()
    return past + timedelta(seconds=1)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
