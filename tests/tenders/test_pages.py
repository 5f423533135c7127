"""Tender and bid pages: the officer's flow, the organization's flow, the
sealed-bid guarantees on every page an officer or admin can reach, downloads
never inline, hostile input, bounded queries."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from procure.bids.models import Bid, BidVersion
from procure.extensions import db
from procure.notifications.models import Notification
from procure.tenders.cli import run_advance
from procure.tenders.models import Tender, TenderStatus
from procure.timeutil import localtime, utcnow
from tests import factories
from tests.conftest import csrf_token, login
from tests.tenders import builders as b

SECRET_PRICE = Decimal("171717.17")
SECRET_TEXT = "机密方案QWERTY"


def _login(client, user):
    login(client, user.email, factories.PASSWORD)


def _local(value):
    return localtime(value).strftime("%Y-%m-%dT%H:%M")


def test_officer_creates_and_publishes_a_tender_through_the_pages(client, session):
    officer = factories.officer()
    item = b.item()
    _login(client, officer)
    page = client.get(f"/manage/tenders/new/{item.id}")
    assert page.status_code == 200
    now = utcnow()
    token = csrf_token(client, f"/manage/tenders/new/{item.id}")
    township = b.data().township_id
    response = client.post(f"/manage/tenders/new/{item.id}", data={
        "csrf_token": token, "township_id": township, "title": "养老服务<script>", "description": "说明",
        "budget": "200000", "max_price": "180000", "service_start": "2027-01-01", "service_end": "2027-12-31",
        "service_place": "界湖街道", "method": "open_tender", "undertaker_types": list(item.undertaker_types),
        "enquiry_deadline": _local(now + timedelta(days=10)), "bid_deadline": _local(now + timedelta(days=21)),
        "evaluation_method": "comprehensive", "price_weight": "20", "criteria": "服务方案,50\n团队,30",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    tender = session.scalars(select(Tender)).one()
    assert tender.budget == Decimal("200000.00") and tender.criteria[1] == {"name": "团队", "weight": 30}
    response = client.post(f"/manage/tenders/{tender.id}/publish", data={"csrf_token": token})
    assert response.status_code == 302
    session.expire_all()
    tender = session.get(Tender, tender.id)
    assert tender.status == TenderStatus.TENDERING and tender.public_number == "371321-2026-0001"
    html = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert "371321-2026-0001" in html and "养老服务&lt;script&gt;" in html and "<script>" not in html.split("</nav>", 1)[1]
    assert "养老服务&lt;script&gt;" in client.get("/").get_data(as_text=True)  # on the home page


def test_publishing_refusals_are_explained_and_nothing_changes(client, session):
    officer = factories.officer()
    tender = b.draft(max_price=Decimal("250000"), budget=Decimal("200000"))
    _login(client, officer)
    html = client.get(f"/manage/tenders/{tender.id}").get_data(as_text=True)
    assert "最高限价不能高于预算金额" in html
    token = csrf_token(client, f"/manage/tenders/{tender.id}")
    response = client.post(f"/manage/tenders/{tender.id}/publish", data={"csrf_token": token}, follow_redirects=True)
    assert "最高限价不能高于预算金额" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Tender, tender.id).status == TenderStatus.DRAFT


def test_bad_form_input_gets_messages_not_500(client, session):
    officer = factories.officer()
    item = b.item()
    _login(client, officer)
    token = csrf_token(client, f"/manage/tenders/new/{item.id}")
    response = client.post(f"/manage/tenders/new/{item.id}", data={
        "csrf_token": token, "township_id": "999999", "title": "x", "budget": "abc", "method": "open_tender",
        "evaluation_method": "comprehensive", "criteria": "no weight"})
    assert response.status_code == 200
    assert session.scalar(select(Tender.id)) is None
    assert client.get("/tenders?budget_min=abc").status_code == 400
    assert client.get("/tenders?county=%3Cscript%3E&category=%25").status_code == 200


def test_organization_asks_and_gets_the_answer_on_the_public_page(client, session):
    tender = b.published()
    org, member = b.bidder()
    officer = factories.officer()
    _login(client, member)
    token = csrf_token(client, f"/tenders/{tender.id}")
    client.post(f"/tenders/{tender.id}/questions", data={"csrf_token": token, "text": "需要几名社工？"})
    question = tender.questions[0] if session.refresh(tender) is None else None
    client.post("/account/logout", data={"csrf_token": token})
    _login(client, officer)
    token = csrf_token(client, f"/manage/tenders/{tender.id}")
    client.post(f"/manage/tenders/{tender.id}/questions/{question.id}/answer", data={"csrf_token": token,
                                                                                      "text": "至少三名。"})
    html = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert "需要几名社工？" in html and "至少三名。" in html
    assert org.name not in html  # the asker is not shown


def test_organization_submits_through_the_page_and_downloads_its_receipt(client, session):
    tender = b.published()
    org, member = b.bidder()
    _login(client, member)
    token = csrf_token(client, f"/bids/tenders/{tender.id}")
    response = client.post(f"/bids/tenders/{tender.id}", data={
        "csrf_token": token, "price": "150000", "technical": "方案", "team": "团队", "qualified": "y",
        "no_collusion": "y", "accepts_terms": "y", "submit": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    bid = session.scalars(select(Bid)).one()
    version = session.scalars(select(BidVersion)).one()
    html = client.get(f"/bids/tenders/{tender.id}").get_data(as_text=True)
    assert version.digest in html
    receipt = client.get(f"/bids/{bid.id}/receipts/1")
    assert receipt.headers["Content-Disposition"].startswith("attachment")
    assert version.digest in receipt.get_data(as_text=True)


def test_downloads_are_never_inline(client, session):
    tender = b.published()
    bid, member, _ = b.submitted_bid(tender, attachment=b.PDF)
    _login(client, member)
    file_id = session.scalars(select(BidVersion)).one() and bid.id
    from procure.bids.models import BidFile

    bid_file = session.scalars(select(BidFile)).one()
    response = client.get(f"/bids/{bid.id}/files/{bid_file.id}")
    assert response.status_code == 200 and response.data == b.PDF
    assert response.headers["Content-Disposition"].startswith("attachment")


# --- sealed before the opening ---------------------------------------------------------

_VOLATILE = [re.compile(p) for p in (r'name="csrf_token"[^>]*value="[^"]*"', r'value="[^"]*" name="csrf_token"',
                                     r"（剩余[^）]*）", r'datetime="[^"]*"', r"\d{4}-\d\d-\d\d \d\d:\d\d")]


def _stable(html: str) -> str:
    for pattern in _VOLATILE:
        html = pattern.sub("", html)
    return html


def _pages(client, tender):
    return {path: client.get(path) for path in (
        "/", "/tenders", f"/tenders/{tender.id}", "/manage/tenders", f"/manage/tenders/{tender.id}",
        "/inbox",
    )}


@pytest.mark.parametrize("who", ["officer", "admin"])
def test_officer_and_admin_see_no_content_price_or_count_before_the_opening(client, session, who):
    viewer = factories.officer() if who == "officer" else factories.admin()
    tender = b.published()
    bidders = [b.bidder() for _ in range(3)]  # (registering tells the county's officers)
    _login(client, viewer)
    client.get("/")
    notified = session.scalar(select(func.count(Notification.id)))
    before = {path: _stable(r.get_data(as_text=True)) for path, r in _pages(client, tender).items()}
    submitted = [b.submitted_bid(tender, price=SECRET_PRICE, technical=SECRET_TEXT, attachment=b.PDF, who=who_)
                 for who_ in bidders]
    after = _pages(client, tender)
    for path, response in after.items():
        html = response.get_data(as_text=True)
        assert "171717" not in html and SECRET_TEXT not in html, path
        # Not even how many bids: the page is the same as with no bid at all.
        assert _stable(html) == before[path], path
    bid = submitted[0][0]
    for path in (f"/bids/tenders/{tender.id}", f"/bids/{bid.id}/files/1", f"/bids/{bid.id}/receipts/1", "/bids"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"171717" not in response.data
    # No notification tells them anything about the bids (only the bidders get receipts).
    new = session.scalars(select(Notification).where(Notification.id > 0).order_by(Notification.id)
                          .offset(notified)).all()
    assert new and all(n.template == "bid_receipt" and n.recipient_user_id != viewer.id for n in new)


def test_opening_record_is_public_after_the_opening_with_the_receipts_digests(client, session):
    tender = b.published()
    receipts = [b.submitted_bid(tender, price=Decimal(p))[2] for p in ("150000.00", "151000.00", "152000.00")]
    assert "opening-record" not in client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    b.pass_deadline(tender)
    run_advance()
    html = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert 'data-testid="opening-record"' in html
    for receipt in receipts:
        assert receipt.digest in html
    assert "151,000.00" in html


def test_failed_and_cancelled_notices_are_public(client, session):
    failed = b.published()
    b.pass_deadline(failed)
    run_advance()
    assert "流标公告" in client.get(f"/tenders/{failed.id}").get_data(as_text=True)
    cancelled = b.published()
    from procure.tenders import services as tenders

    tenders.cancel(session, cancelled, reason="预算调整<b>", actor=None, now=utcnow())
    session.commit()
    html = client.get(f"/tenders/{cancelled.id}").get_data(as_text=True)
    assert "终止公告" in html and "预算调整&lt;b&gt;" in html


# --- bounded queries ------------------------------------------------------------------------


@contextmanager
def count_queries():
    counter = {"n": 0}

    def before(*_args, **_kw):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _queries(client, path):
    with count_queries() as counter:
        assert client.get(path).status_code == 200
    return counter["n"]


def test_pages_load_with_a_bounded_number_of_queries(client, session):
    first = b.published()
    org, member = b.bidder()
    from procure.tenders import services as tenders

    tenders.ask(session, first, organization=org, user=member, text="问1", now=utcnow(), rules=b.rules())
    session.commit()
    small = {p: _queries(client, p) for p in ("/", "/tenders", f"/tenders/{first.id}")}
    for i in range(8):
        b.published(title=f"项目{i}")
        tenders.ask(session, first, organization=org, user=member, text=f"问{i}", now=utcnow(), rules=b.rules())
    session.commit()
    large = {p: _queries(client, p) for p in ("/", "/tenders", f"/tenders/{first.id}")}
    assert large == small
