"""An organization as a new user would try it, in headless Chromium: register,
confirm the email from the real SMTP server, get approved by the county officer
(another browser), log in and see "verified"; a rejected applicant sees why."""
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.fixtures.browser import login
from tests.organizations import files
from tests.organizations.conftest import fast_passwords  # noqa: F401  (autouse: scrypt once per password)

pytestmark = pytest.mark.browser

ORG_NAME = "沂南县春晖社会工作服务中心"
ADMIN_EMAIL = "chunhui@example.com"


@pytest.fixture
def shots(tmp_path) -> Path:
    target = Path(os.environ.get("PROCURE_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def path_of(url: str) -> str:
    """The emailed link points at BASE_URL; the browser follows it on the live server."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def logout(page):
    with page.expect_navigation():
        page.get_by_role("button", name="退出").click()


def test_register_confirm_approve_login(new_page, session, mailbox, shots):
    factories.officer(email="officer@yinan.example.com")
    code = factories.credit_code("52")

    # 1. A visitor registers the organization.
    page = new_page()
    page.goto("/")
    page.get_by_role("link", name="注册机构").click()
    expect(page).to_have_url(re.compile(r"/organizations/register$"))
    page.get_by_label("机构名称").fill(ORG_NAME)
    page.get_by_label("统一社会信用代码").fill(f"{code[:8]} {code[8:].lower()}")  # spaces, lowercase
    page.get_by_label("机构类型").select_option("social_service_agency")
    page.get_by_label("所在区县").select_option("371321")
    page.get_by_label("地址").fill("沂南县界湖街道春晖路 6 号")
    page.get_by_label("法定代表人（负责人）").fill("韩梅")
    page.get_by_label("联系人", exact=True).fill("李雷")
    page.get_by_label("联系电话").fill("0539-3226688")
    page.get_by_label("机构邮箱").fill("office@chunhui.example.com")
    page.get_by_label("否", exact=True).check()
    for label in ("独立承担民事责任", "健全的财务会计制度", "缴纳税收和社会保障资金", "没有重大违法记录"):
        page.get_by_label(label).check()
    page.get_by_label("登记证书或营业执照").set_input_files(
        {"name": "登记证书.pdf", "mimeType": "application/pdf", "buffer": files.pdf()}
    )
    page.get_by_label("您的姓名").fill("韩梅")
    page.get_by_label("您的登录邮箱").fill(ADMIN_EMAIL)
    page.get_by_label("登录密码").fill(factories.PASSWORD)
    page.get_by_label("确认密码").fill(factories.PASSWORD)
    page.screenshot(path=shots / "org-register.png", full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="提交注册").click()
    # The same answer whether or not the address had an account: not signed
    # in, "follow the email we sent".
    assert "/account/login" in page.url
    assert "我们已向" in page.locator("main").inner_text()

    # 2. Before confirming, the dashboard is out of reach (signed in or not).
    login(page, ADMIN_EMAIL, factories.PASSWORD)
    page.goto("/organizations/mine")
    assert "/account/unconfirmed" in page.url

    # 3. Confirm through the link of the email the real SMTP server received.
    [message] = mailbox.wait_for(1, to=ADMIN_EMAIL)
    page.goto(path_of(message.link(containing="/account/confirm/")))
    assert "已确认" in page.locator("main").inner_text()
    page.goto("/organizations/mine")
    assert page.get_by_test_id("org-status").inner_text() == "待审核"
    assert "暂不能投标" in page.get_by_test_id("bid-eligibility").inner_text()

    # 4. The county officer approves it from the queue, in another browser.
    officer = new_page()
    login(officer, "officer@yinan.example.com", factories.PASSWORD)
    officer.get_by_role("link", name="审核队列").click()
    officer.get_by_role("link", name=ORG_NAME).click()
    assert code in officer.locator("main").inner_text()  # normalised
    assert "民办非企业单位（社会服务机构）" in officer.get_by_test_id("code-info").inner_text()
    officer.screenshot(path=shots / "org-review.png", full_page=True)
    with officer.expect_navigation():
        officer.get_by_test_id("approve-form").get_by_role("button", name="审核通过").click()
    assert officer.get_by_test_id("org-status").inner_text() == "已认证"

    # 5. The organization logs in again and sees it is verified (and was told so).
    logout(page)
    login(page, ADMIN_EMAIL, factories.PASSWORD)
    page.get_by_role("link", name="我的机构").click()
    assert page.get_by_test_id("org-status").inner_text() == "已认证"
    assert "可以投标" in page.get_by_test_id("bid-eligibility").inner_text()
    page.screenshot(path=shots / "org-dashboard-verified.png", full_page=True)
    assert any("机构审核通过" in m.subject for m in mailbox.wait_for(2, to=ADMIN_EMAIL))

    # 6. Anyone can now see the public page, without contacts.
    visitor = new_page()
    visitor.goto("/organizations")
    visitor.get_by_role("link", name=ORG_NAME).click()
    text = visitor.locator("main").inner_text()
    assert "已认证" in text and "0539-3226688" not in text and ADMIN_EMAIL not in text


def test_rejected_applicant_sees_the_reason(new_page, session, mailbox, shots):
    factories.officer(email="officer@yinan.example.com")
    applicant = factories.user(email="applicant@example.com")
    org = factories.organization(status="pending", admin_user=applicant, name="沂南县某某服务中心",
                                 org_type="public_institution_class1", budget_funded=True)

    officer = new_page()
    login(officer, "officer@yinan.example.com", factories.PASSWORD)
    officer.goto(f"/manage/organizations/{org.id}")
    flags = officer.get_by_test_id("review-flags").inner_text()
    assert "不具备承接资格" in flags and "财政拨款保障" in flags
    officer.get_by_label("不予通过的理由").fill("公益一类事业单位不能承接政府购买服务。")
    with officer.expect_navigation():
        officer.get_by_test_id("reject-form").get_by_role("button", name="不予通过").click()
    assert officer.get_by_test_id("org-status").inner_text() == "未通过"

    page = new_page()
    login(page, "applicant@example.com", factories.PASSWORD)
    page.goto("/organizations/mine")
    assert page.get_by_test_id("org-status").inner_text() == "未通过"
    assert page.get_by_test_id("status-reason").inner_text() == "公益一类事业单位不能承接政府购买服务。"
    page.screenshot(path=shots / "org-dashboard-rejected.png", full_page=True)
    # The public does not see a rejected applicant.
    assert page.goto(f"/organizations/{org.id}").status == 404
