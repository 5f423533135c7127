"""A tender as new users would try it, in headless Chromium: the county officer
publishes a tender from a catalog item, an organization asks a question and
gets the answer, two organizations submit sealed bids and one revises, the
deadline passes (the clock is moved), and the public opening record shows
both digests matching the receipts."""
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from procure.tenders.cli import run_advance
from procure.tenders.models import Tender
from procure.timeutil import localtime, utcnow
from tests import factories
from tests.fixtures.browser import login
from tests.organizations.conftest import fast_passwords  # noqa: F401
from tests.tenders import builders as b

pytestmark = pytest.mark.browser


@pytest.fixture
def shots(tmp_path) -> Path:
    target = Path(os.environ.get("PROCURE_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def _local(value) -> str:
    return localtime(value).strftime("%Y-%m-%dT%H:%M")


def _submit_bid(page, tender_id: int, price: str) -> str:
    page.goto(f"/tenders/{tender_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="准备投标").click()
    page.get_by_label("投标报价（元）").fill(price)
    page.get_by_label("技术和服务方案").fill("每周上门服务两次，建立服务台账。")
    page.get_by_label("项目团队").fill("社工 3 名")
    for label in ("资格条件", "串通投标", "全部条款"):
        page.get_by_label(re.compile(label)).check()
    with page.expect_navigation():
        page.get_by_role("button", name="提交投标").click()
    expect(page.locator(".alert-success")).to_contain_text("投标已提交")
    return page.locator("[data-testid=receipts] tbody tr code.digest").last.inner_text()


def test_publish_ask_answer_bid_revise_open(new_page, session, shots):
    officer = factories.officer(email="officer@yinan.example.com")
    factories.catalog_with_items()
    (org_a, member_a), (org_b, member_b) = b.bidder(), b.bidder()
    session.commit()
    now = utcnow()

    # 1. The officer publishes a tender from a catalog item.
    office = new_page()
    login(office, officer.email, factories.PASSWORD)
    office.goto("/manage/tenders")
    with office.expect_navigation():
        office.get_by_role("link", name=re.compile("居家养老上门服务")).click()
    office.get_by_label("采购乡镇").select_option(index=1)
    office.get_by_label("预算金额（元）").fill("200000")
    office.get_by_label("最高限价（元）").fill("180000")
    office.get_by_label("服务开始日期").fill("2027-01-01")
    office.get_by_label("服务结束日期").fill("2027-12-31")
    office.get_by_label("服务地点").fill("界湖街道")
    office.get_by_label("提问截止时间（北京时间）").fill(_local(now + timedelta(days=10)))
    office.get_by_label("投标截止时间（北京时间）").fill(_local(now + timedelta(days=21)))
    office.get_by_label("价格分权重（%）").fill("20")
    office.get_by_label("其他评分因素及权重").fill("服务方案,50\n团队,30")
    with office.expect_navigation():
        office.get_by_role("button", name="保存草稿").click()
    with office.expect_navigation():
        office.get_by_role("button", name="发布采购公告").click()
    expect(office.locator(".alert-success")).to_contain_text("371321-2026-0001")
    office.screenshot(path=shots / "tender-published.png", full_page=True)
    tender_id = session.query(Tender.id).scalar()

    # 2. An organization asks; the officer answers; the answer is public.
    bidder_a = new_page()
    login(bidder_a, member_a.email, factories.PASSWORD)
    bidder_a.goto(f"/tenders/{tender_id}")
    bidder_a.get_by_label("问题").fill("服务对象名单由谁提供？")
    with bidder_a.expect_navigation():
        bidder_a.get_by_role("button", name="提交问题").click()
    office.goto(f"/manage/tenders/{tender_id}")
    office.get_by_label("回答").fill("由乡镇民政办提供。")
    with office.expect_navigation():
        office.get_by_role("button", name="发布回答").click()
    bidder_a.goto(f"/tenders/{tender_id}")
    expect(bidder_a.locator("#questions ~ div").first).to_contain_text("由乡镇民政办提供。")

    # 3. Two organizations bid; the second revises its price.
    digest_a = _submit_bid(bidder_a, tender_id, "150000")
    bidder_b = new_page()
    login(bidder_b, member_b.email, factories.PASSWORD)
    first_b = _submit_bid(bidder_b, tender_id, "170000")
    digest_b = _submit_bid(bidder_b, tender_id, "160000")
    assert digest_b != first_b and len(digest_b) == 64
    bidder_b.screenshot(path=shots / "bid-receipts.png", full_page=True)

    # Before the opening the officer sees no bid at all.
    office.goto(f"/manage/tenders/{tender_id}")
    assert "150,000" not in office.content() and "160,000" not in office.content()

    # A third organization bids too (through the services): an open tender needs 3.
    b.submitted_bid(session.get(Tender, tender_id), price=b.PRICE)

    # 4. The deadline passes (the clock is moved) and the beat job's function opens the bids.
    b.pass_deadline(session.get(Tender, tender_id))
    assert run_advance() == {tender_id: "opened"}
    visitor = new_page()
    visitor.goto(f"/tenders/{tender_id}")
    record = visitor.locator("[data-testid=opening-record]")
    expect(record).to_contain_text(digest_a)
    expect(record).to_contain_text(digest_b)
    assert first_b not in record.inner_text()
    expect(record).to_contain_text("160,000.00")
    visitor.screenshot(path=shots / "opening-record.png", full_page=True)
