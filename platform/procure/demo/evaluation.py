"""Demo tenders of 沂南县 past their opening, one at each state of issue 11,
made through the real services: evaluating (committee formed, qualification
review under way), awarded within its publicity period, awarded with a pending
challenge, contracted, and evaluated with a published grade (优秀, on the
winner's public profile). Two demo evaluator accounts form the committees.

As the tenders' demo does, each tender is published and bid on, then "time
passes": its dates are moved into the past and the advance function opens it.
For the contracted and evaluated tenders the award too is moved back ten days,
so that its publicity period is over and the contract could be signed.
Idempotent: nothing is done when the county has an evaluation already.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from procure.accounts import queries as account_queries
from procure.accounts import services as account_services
from procure.accounts.models import Role
from procure.bids import services as bids
from procure.clock import db_now
from procure.evaluation import clocks, services, tenderfacts
from procure.evaluation.models import Evaluation
from procure.geo import queries as geo_queries
from procure.organizations import queries as org_queries
from procure.organizations.services import local_today
from procure.tenders import services as tenders
from procure.tenders.models import Tender

DEMO_COUNTY = "371321"
DEMO_OFFICER = "officer@yinan.example.com"
BIDDERS = ["socialwork@demo.example.com", "volunteers@demo.example.com", "eldercare@demo.example.com"]
EVALUATORS = [("expert1@demo.example.com", "王评审（示例专家）"), ("expert2@demo.example.com", "李评审（示例专家）")]
_PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def _evaluators(session: Session, password: str):
    users = []
    for email, name in EVALUATORS:
        user = account_queries.by_email(session, email)
        if user is None:
            user = account_services.create_user(session, email=email, password=password, name=name, confirmed=True)
            account_services.grant_role(session, user, Role.EVALUATOR)
        users.append(user)
    return users


def _member_org(session, email):
    user = account_queries.by_email(session, email)
    membership = next((r for r in user.roles if r.organization_id), None) if user else None
    return (user, org_queries.get(session, membership.organization_id)) if membership else (None, None)


def load_demo_evaluations(session: Session, *, password: str) -> list[str]:
    from procure.challenges import services as challenges
    from procure.challenges.views import upload_root as challenge_root
    from procure.contracts import services as contracts
    from procure.contracts.views import upload_root as contract_root
    from procure.demo.tenders import _data, _item

    county = geo_queries.county_by_code(session, DEMO_COUNTY)
    if session.scalar(select(Evaluation.id).join(Tender, Tender.id == Evaluation.tender_id)
                      .where(Tender.county_id == county.id).limit(1)) is not None:
        return ["demo evaluations: already present, left as they are"]
    item = _item(session, county.id)
    officer = account_queries.by_email(session, DEMO_OFFICER)
    bidders = [_member_org(session, e) for e in BIDDERS]
    if item is None or officer is None or any(org is None for _u, org in bidders):
        return ["demo evaluations: no catalog item, officer or demo bidders for them"]
    config = current_app.config
    rules, sealer = tenders.Rules.from_config(config), bids.Sealer.from_config(config)
    today = local_today(config["TIMEZONE"])
    evaluators = _evaluators(session, password)
    add_workdays = clocks.platform_calendar(session)
    settings = services.ClockSettings.from_config(config)
    now = db_now(session)
    report = []

    def opened(title, index, prices):
        tender = tenders.create_draft(session, item, _data(session, county, title, now, 6, index), actor=officer,
                                      rules=rules)
        tenders.publish(session, tender, actor=officer, now=now, rules=rules)
        for (user, org), price in zip(bidders, prices):
            bid = bids.get_or_create(session, tender, org, today=today)
            content = bids.BidContent(price=Decimal(price), technical=f"{org.name}的服务方案。", team="社工 3 名",
                                      declarations={k: True for k in bids.DECLARATIONS})
            bids.save_draft(session, bid, content, sealer=sealer)
            bids.submit(session, bid, user=user, sealer=sealer)
        session.flush()
        past = db_now(session) - timedelta(minutes=1)
        session.execute(update(Tender).where(Tender.id == tender.id).values(bid_deadline=past, next_due_at=past))
        session.flush()
        tenders.advance_due(session, now=db_now(session), keys=config["SEAL_KEYS"])
        session.refresh(tender)
        return tender

    def reviewed(tender):
        facts = tenderfacts.facts_for(tender)
        opened_bids = tenderfacts.opened_bids(session, tender.id)
        evaluation = services.start(session, facts, officer=officer)
        members = [services.add_member(session, evaluation, email=u.email, chair=i == 0,
                                       bidder_org_ids={b.organization_id for b in opened_bids}, facts=facts,
                                       invited_by=officer) for i, u in enumerate(evaluators)]
        for member in members:
            services.declare(session, member, conflict=False)
        services.begin_review(session, evaluation, min_members=2)
        return facts, opened_bids, evaluation, members

    def awarded(tender, *, days_ago=0):
        facts, opened_bids, evaluation, members = reviewed(tender)
        for b in opened_bids:
            services.record_qualification(session, evaluation, b, passed=True, actor=members[0].user)
        services.finish_review(session, evaluation, facts, opened_bids)
        services.submit_report(session, evaluation, members[0], facts, opened_bids, text="评审委员会一致同意。")
        top = services.results(session, evaluation)[0]
        award = services.award(session, evaluation, facts, bid_id=top.bid_id, officer=officer,
                               add_workdays=add_workdays, settings=settings, now=now)
        if days_ago:  # as if the award had been made days ago (in Python: SQLite stores text)
            shift = timedelta(days=days_ago)
            for obj, names in ((award, ("notice_published_at", "publicity_ends_at", "challenge_deadline_at",
                                        "contract_deadline_at")),
                               (tender, ("published_at", "enquiry_deadline", "bid_deadline", "opened_at"))):
                for name in names:
                    if getattr(obj, name) is not None:
                        setattr(obj, name, getattr(obj, name) - shift)
            session.flush()
        return facts, award

    t1 = opened("2026年社区老年食堂运营服务（询价）", 0, ("236000.00", "241000.00", "229000.00"))
    reviewed(t1)
    report.append(f"demo tender {t1.public_number}: evaluating (committee of 2 declared, review under way)")

    t2 = opened("2026年农村留守老人关爱服务（询价）", 1, ("218000.00", "226000.00", "231000.00"))
    awarded(t2)
    report.append(f"demo tender {t2.public_number}: awarded, within its publicity period")

    t3 = opened("2026年困境儿童社工服务（询价）", 2, ("247000.00", "239000.00", "252000.00"))
    facts3, award3 = awarded(t3)
    loser_user, loser_org = next((u, o) for u, o in bidders if o.id != award3.organization_id)
    challenges.file(session, facts3, organization_id=loser_org.id, bidder_org_ids={o.id for _u, o in bidders},
                    user=loser_user, subject="result", text="我方报价与服务方案均符合要求，请说明未成交的理由。",
                    award=award3, add_workdays=add_workdays, settings=challenges.ChallengeSettings.from_config(config),
                    upload_root=challenge_root(), max_bytes=config["CHALLENGE_EVIDENCE_MAX_BYTES"], now=now)
    report.append(f"demo tender {t3.public_number}: awarded, with a pending challenge by {loser_org.name}")

    contract_settings = contracts.ContractSettings.from_config(config)
    done = []
    for title, index, prices in (("2026年居家养老助浴服务（询价）", 3, ("233000.00", "228000.00", "245000.00")),
                                 ("2026年重阳节敬老活动服务（询价）", 4, ("212000.00", "219000.00", "207000.00"))):
        tender = opened(title, index, prices)
        _facts, award = awarded(tender, days_ago=10)
        signed = today - timedelta(days=2)
        contract = contracts.record(
            session, award, contracts.ContractData(f"YN-HT-{tender.public_number}", award.amount, signed, signed,
                                                   signed + timedelta(days=300), False, "合同（示例）.pdf", _PDF),
            county_id=county.id, officer=officer, settings=contract_settings, upload_root=contract_root(),
            max_bytes=config["CONTRACT_FILE_MAX_BYTES"])
        done.append((tender, contract))
    report.append(f"demo tender {done[0][0].public_number}: contracted")
    tender, contract = done[1]
    contracts.record_performance(session, contract, [
        contracts.IndicatorData("output", "活动场次与参与人数", "40", "37"),
        contracts.IndicatorData("effect", "老人精神文化生活改善", "30", "27.5"),
        contracts.IndicatorData("satisfaction", "服务对象满意度", "30", "28"),
    ], summary="活动组织有序，老人反映良好。", officer=officer, upload_root=contract_root(),
        max_bytes=config["CONTRACT_FILE_MAX_BYTES"])
    report.append(f"demo tender {tender.public_number}: evaluated, grade 优秀 (92.50) on the winner's profile")
    for email, _name in EVALUATORS:
        report.append(f"demo account {email} / {password} (evaluator)")
    return report
