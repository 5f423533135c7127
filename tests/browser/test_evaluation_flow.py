"""Issue 11 "Done when", as new users would try it in headless Chromium: the
officer forms a committee of two, both declare, the chair reviews, both score
the three bids, the chair submits the report, the officer awards; the losing
bidder sees its own score and rank and files a challenge; the officer answers
it; the contract is recorded (once the publicity period has passed) and the
performance grade appears on the winner's public profile."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from procure.evaluation import clocks
from procure.evaluation.models import Award
from procure.timeutil import utcnow
from tests import factories
from tests.evaluation import world as world_mod
from tests.fixtures.browser import login
from tests.organizations import files

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    world_mod.fast_passwords(monkeypatch)


@pytest.fixture
def shots(tmp_path) -> Path:
    target = Path(os.environ.get("PROCURE_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def submit(page, name):
    with page.expect_navigation():
        page.get_by_role("button", name=name).click()


def test_committee_scores_award_challenge_contract_and_grade(new_page, session, shots, tmp_path):
    w = world_mod.build()  # bids: b0 80,000 · b1 100,000 · b2 95,000 (weight 30; 服务方案 40, 团队与经验 30)
    e1, e2 = w.evaluators[:2]
    tid = w.tender.id

    # 1. The officer forms the committee: e1 chairs, e2 sits.
    officer = new_page()
    login(officer, w.officer.email, factories.PASSWORD)
    officer.goto(f"/manage/tenders/{tid}/evaluation")
    submit(officer, "组织评审")
    for email, chair in ((e1.email, True), (e2.email, False)):
        officer.get_by_label("邮箱").fill(email)
        if chair:
            officer.get_by_label("主任").check()
        submit(officer, "添加成员")
    expect(officer.locator("main")).to_contain_text(e2.email)

    # 2. Both members find the tender in their list and declare no conflict.
    members = []
    for user in (e1, e2):
        page = new_page()
        login(page, user.email, factories.PASSWORD)
        page.goto("/evaluations")
        with page.expect_navigation():
            page.get_by_role("link", name=w.tender.title).click()
        expect(page.locator("main")).not_to_contain_text(w.bids[0].organization_name)  # no bid before declaring
        submit(page, "提交声明")
        members.append(page)
    chair, second = members
    officer.reload()
    submit(officer, "委员会组建完成，开始评审")

    # 3. The chair records the qualification review: every bid passes.
    chair.reload()
    for b in w.bids:
        chair.locator(f"#q-{b.bid_id}").select_option("pass")
    submit(chair, "保存审查结论")
    submit(chair, "完成资格审查")

    # 4. Each member scores the three bids on both criteria and submits.
    # Same marks for all (30 and 20): totals = price score + 50 → b0 80.00, b2 75.26, b1 74.00.
    for page in (chair, second):
        page.reload()
        for b in w.bids:
            page.locator(f"#s-{b.bid_id}-c0").fill("30")
            page.locator(f"#s-{b.bid_id}-c1").fill("20")
        submit(page, "提交评分表（提交后不能修改）")
        expect(page.locator("main")).to_contain_text("评分表已提交")
    chair.get_by_label("评审报告意见").fill("评审委员会一致同意")
    submit(chair, "提交评审报告")
    expect(chair.locator("main")).to_contain_text("评审报告已提交")

    # 5. The officer sees the comparison and awards the top-ranked bid.
    officer.goto(f"/manage/tenders/{tid}/evaluation")
    submit(officer, "确定成交供应商并发布结果公告")
    officer.goto(f"/tenders/{tid}/result")
    expect(officer.locator("main")).to_contain_text(w.bids[0].organization_name)
    officer.screenshot(path=str(shots / "evaluation-result-notice.png"), full_page=True)

    # 6. The losing bidder (b1, last) sees its own score and rank, and challenges the result.
    bidder = new_page()
    login(bidder, w.bidder_users[1].email, factories.PASSWORD)
    bidder.goto(f"/tenders/{tid}/my-result")
    expect(bidder.get_by_test_id("my-total")).to_have_text("74.00")
    expect(bidder.get_by_test_id("my-rank")).to_have_text("3")
    bidder.screenshot(path=str(shots / "evaluation-my-result.png"), full_page=True)
    with bidder.expect_navigation():
        bidder.get_by_role("link", name="提出质疑").click()
    bidder.get_by_label("质疑事项").select_option("result")
    bidder.get_by_label("质疑内容和理由").fill("我方服务方案得分偏低，请复核。")
    evidence = tmp_path / "证明.pdf"
    evidence.write_bytes(files.pdf())
    bidder.get_by_label("证明材料（PDF、JPG、PNG，最多 5 个）").set_input_files(str(evidence))
    submit(bidder, "提交质疑")
    expect(bidder.get_by_test_id("challenge-status")).to_have_text("待答复")
    challenge_url = bidder.url

    # 7. The officer finds it among the challenges to answer and rejects it with a reply.
    officer.goto("/manage/challenges")
    with officer.expect_navigation():
        officer.get_by_test_id("pending-challenges").get_by_role("link").first.click()
    officer.get_by_label("质疑不成立").check()
    officer.get_by_label("答复内容（质疑人可见）").fill("经复核，评分符合评审办法。")
    submit(officer, "提交答复")
    bidder.goto(challenge_url)
    expect(bidder.get_by_test_id("challenge-reply")).to_have_text("经复核，评分符合评审办法。")
    expect(bidder.get_by_test_id("challenge-status")).to_have_text("质疑不成立")

    # 8. Five days later (the clock moves: the publicity period is over), the
    #    officer records the signed contract from the list of contracts due.
    award = session.scalar(select(Award).where(Award.tender_id == tid))
    for name in ("notice_published_at", "publicity_ends_at", "challenge_deadline_at", "contract_deadline_at"):
        setattr(award, name, getattr(award, name) - timedelta(days=5))  # in Python: SQLite stores text
    session.commit()
    today = clocks.local_date(utcnow(), "Asia/Shanghai")
    officer.goto("/manage/contracts")
    with officer.expect_navigation():
        officer.get_by_test_id("contracts-due").get_by_role("link", name="登记合同").click()
    officer.get_by_label("合同编号").fill("YN-HT-2026-018")
    officer.get_by_label("签订日期").fill(today.isoformat())
    officer.get_by_label("服务开始日期").fill(today.isoformat())
    officer.get_by_label("服务结束日期").fill((today + timedelta(days=180)).isoformat())
    contract_file = tmp_path / "合同.pdf"
    contract_file.write_bytes(files.pdf())
    officer.get_by_label("合同文件（PDF、JPG、PNG）").set_input_files(str(contract_file))
    submit(officer, "登记并发布合同公告")
    expect(officer.get_by_test_id("contract-notice")).to_contain_text("YN-HT-2026-018")

    # 9. The purchaser publishes the performance evaluation: 36 + 27 + 28 = 91 → 优秀.
    with officer.expect_navigation():
        officer.get_by_role("link", name="登记绩效评价").click()
    rows = (("上门服务完成率", "40", "36"), ("老人生活改善", "30", "27"), ("服务对象满意度", "30", "28"))
    for i, (name, maximum, score) in zip((0, 2, 4), rows):
        officer.get_by_label(f"指标名称 {i + 1}").fill(name)
        officer.get_by_label(f"分值 {i + 1}").fill(maximum)
        officer.get_by_label(f"得分 {i + 1}").fill(score)
    submit(officer, "发布绩效评价")
    expect(officer.get_by_test_id("performance-grade")).to_have_text("优秀")

    # 10. Anyone (a future committee) sees the grade on the winner's public profile.
    visitor = new_page()
    visitor.goto(f"/organizations/{w.orgs[0].id}")
    history = visitor.get_by_test_id("org-history")
    expect(history).to_contain_text(w.tender.title)
    expect(history).to_contain_text(re.compile(r"优秀（91\.00）"))
    visitor.screenshot(path=str(shots / "evaluation-profile-grade.png"), full_page=True)
