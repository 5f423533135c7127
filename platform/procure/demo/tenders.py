"""Demo tenders of 沂南县 in every state reachable now, made through the real
services: two open with deadlines next week (one with a question and its
answer, one amended), one past its deadline and opened, one failed (流标) for
too few bids, one cancelled, one draft; the demo organizations' sealed bids
on them.

The opened and failed tenders are published with a deadline in the future,
bid on, then their deadline is moved into the past (as if time had passed)
and the advance function opens them, exactly as the beat job would.
Idempotent: nothing is done when the county has tenders already.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from procure.accounts import queries as account_queries
from procure.bids import services as bids
from procure.catalog import queries as catalog_queries
from procure.clock import db_now
from procure.geo import queries as geo_queries
from procure.organizations import queries as org_queries
from procure.organizations.services import local_today
from procure.tenders import services as tenders
from procure.tenders.models import Tender

DEMO_COUNTY = "371321"
DEMO_OFFICER = "officer@yinan.example.com"
TOWNSHIPS = ["371321100", "371321101", "371321102", "371321103", "371321104", "371321105"]
BIDDERS = ["socialwork@demo.example.com", "volunteers@demo.example.com", "eldercare@demo.example.com"]


def _item(session, county_id):
    catalog = catalog_queries.current_published(session, county_id)
    if catalog is None:
        return None
    wanted = {"social_organization", "enterprise"}
    return next((i for i in catalog.items if wanted <= set(i.undertaker_types)), None)


def _data(session, county, title, now, days, township_index):
    townships = [t for t in geo_queries.townships_of(session, county)]
    township = townships[township_index % len(townships)]
    return tenders.TenderData(
        township_id=township.id, title=title, description=f"{title}：服务内容、标准和考核办法见招标文件。",
        budget=Decimal("300000.00"), max_price=Decimal("280000.00"),
        service_start=(now + timedelta(days=40)).date(), service_end=(now + timedelta(days=400)).date(),
        service_place=f"{township.name}辖区", method="request_for_quotation",
        enquiry_deadline=now + timedelta(days=days // 2), bid_deadline=now + timedelta(days=days),
        evaluation_method="lowest_price", criteria=[], price_weight=None,
    )


def _bid(session, tender, email, price, sealer, today):
    user = account_queries.by_email(session, email)
    membership = next((r for r in user.roles if r.organization_id), None) if user else None
    if membership is None:
        return None
    org = org_queries.get(session, membership.organization_id)
    bid = bids.get_or_create(session, tender, org, today=today)
    content = bids.BidContent(price=Decimal(price), technical=f"{org.name}的服务方案：人员配置、服务流程、质量控制。",
                              team="项目负责人 1 名，社工 3 名", declarations={k: True for k in bids.DECLARATIONS})
    bids.save_draft(session, bid, content, sealer=sealer)
    return bids.submit(session, bid, user=user, sealer=sealer)


def load_demo_tenders(session: Session) -> list[str]:
    county = geo_queries.county_by_code(session, DEMO_COUNTY)
    if session.scalar(select(Tender.id).where(Tender.county_id == county.id)) is not None:
        return ["demo tenders: already present, left as they are"]
    item = _item(session, county.id)
    officer = account_queries.by_email(session, DEMO_OFFICER)
    if item is None or officer is None:
        return ["demo tenders: no published catalog item for them"]
    config = current_app.config
    rules = tenders.Rules.from_config(config)
    sealer = bids.Sealer.from_config(config)
    today = local_today(config["TIMEZONE"])
    now = db_now(session)
    report = []

    def publish(title, days, index):
        tender = tenders.create_draft(session, item, _data(session, county, title, now, days, index), actor=officer,
                                      rules=rules)
        tenders.publish(session, tender, actor=officer, now=now, rules=rules)
        return tender

    # Open, with a question and its answer.
    qa = publish("2027年居家养老上门服务（询价）", 7, 0)
    asker = account_queries.by_email(session, BIDDERS[0])
    org = org_queries.get(session, next(r.organization_id for r in asker.roles if r.organization_id))
    question = tenders.ask(session, qa, organization=org, user=asker, text="服务对象名单是否由乡镇提供？", now=now,
                           rules=rules)
    tenders.answer(session, question, actor=officer, text="由乡镇民政办在合同签订后提供。", now=now)
    _bid(session, qa, BIDDERS[0], "250000.00", sealer, today)
    report.append(f"demo tender {qa.public_number}: open, with a question and its answer, 1 sealed bid")

    # Open, amended.
    amended = publish("2027年农村幸福院助餐服务（询价）", 8, 1)
    _bid(session, amended, BIDDERS[1], "260000.00", sealer, today)
    tenders.amend(session, amended, {"service_place": "依汶镇全部农村幸福院"}, summary="服务地点更正为依汶镇全部农村幸福院。",
                  actor=officer, now=now, rules=rules)
    report.append(f"demo tender {amended.public_number}: open, amended once (its bid awaits confirmation)")

    # Opened, and failed.
    opened = publish("2026年冬季独居老人探访服务（询价）", 6, 2)
    for email, price in zip(BIDDERS, ("240000.00", "255000.00", "238000.00")):
        _bid(session, opened, email, price, sealer, today)
    failed = publish("2026年老年助浴服务（询价）", 6, 3)
    _bid(session, failed, BIDDERS[2], "270000.00", sealer, today)
    session.flush()
    past = db_now(session) - timedelta(minutes=1)
    for tender in (opened, failed):  # as if their deadline had passed
        session.execute(update(Tender).where(Tender.id == tender.id).values(bid_deadline=past, next_due_at=past))
    session.flush()
    results = tenders.advance_due(session, now=db_now(session), keys=config["SEAL_KEYS"])
    report.append(f"demo tender {opened.public_number}: {results.get(opened.id)} (3 bids)")
    report.append(f"demo tender {failed.public_number}: {results.get(failed.id)} (1 bid, 3 needed)")

    cancelled = publish("2027年村级文化活动组织服务（询价）", 9, 4)
    tenders.cancel(session, cancelled, reason="上级专项资金调整，本项目终止采购。", actor=officer, now=now)
    report.append(f"demo tender {cancelled.public_number}: cancelled")

    draft = tenders.create_draft(session, item, _data(session, county, "2027年居家养老服务质量评估（草稿）", now, 10, 5),
                                 actor=officer, rules=rules)
    report.append(f"demo tender draft #{draft.id}")
    return report
