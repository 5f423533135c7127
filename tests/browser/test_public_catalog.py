"""The public catalog pages in headless Chromium: tree, search, filters, item
page, phone layout (issue 2)."""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    """Where screenshots go: $PROCURE_SCREENSHOT_DIR (to look at them), else tmp."""
    target = Path(os.environ.get("PROCURE_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_tree_search_filter_and_item_page_without_javascript(new_page, session):
    catalog = factories.catalog_with_items("371321", 2026)
    # No JavaScript at all: the tree (<details>) and the forms must work anyway.
    page = new_page(java_script_enabled=False)
    page.goto("/")
    page.get_by_role("link", name="沂南县").click()
    expect(page).to_have_url(re.compile(r"/counties/371321$"))
    assert page.title() == f"{catalog.title} · procure"

    # Level 1 is open, deeper levels are collapsed.
    level2 = page.locator("details.level-2", has=page.locator("summary", has_text="养老服务"))
    level3 = level2.locator("details.level-3", has=page.locator("summary", has_text="居家养老"))
    item_link = page.get_by_role("link", name="居家养老上门服务")
    assert page.locator("summary", has_text="养老服务").is_visible()
    assert level2.get_attribute("open") is None
    assert not item_link.is_visible()
    # Expand level 2, then level 3: the item appears.
    level2.locator("> summary").click()
    assert level2.get_attribute("open") == ""
    level3.locator("> summary").click()
    assert item_link.is_visible()
    assert "2 项" in level2.locator("> summary").inner_text()
    # Collapse level 2 again: the item is hidden.
    level2.locator("> summary").click()
    assert not item_link.is_visible()

    # Search by a Chinese substring.
    page.get_by_label("搜索", exact=True).fill("养老")
    page.get_by_role("button", name="搜索").click()
    # expect() waits for the navigation the click started (plain reads do not).
    expect(page).to_have_url(re.compile(r"q="))
    results = page.locator(".search-results li.list-group-item a.fw-semibold")
    expect(results).to_have_count(2)
    assert sorted(results.all_inner_texts()) == ["农村幸福院运营管理", "居家养老上门服务"]
    expect(page).to_have_title(re.compile("^搜索“养老”"))

    # Add a filter: undertaker type 村级组织.
    page.get_by_label("承接主体类型").select_option("village_organization")
    page.get_by_role("button", name="搜索").click()
    expect(page).to_have_url(re.compile(r"village_organization"))
    expect(results).to_have_text(["农村幸福院运营管理"])

    # Mass-organizations-first only, search cleared.
    page.get_by_role("link", name="清除").click()
    page.get_by_label("仅看群团组织优先承接").check()
    page.get_by_role("button", name="搜索").click()
    expect(results).to_have_text(["农村留守儿童关爱服务"])

    # Open the item page.
    results.first.click()
    expect(page).to_have_title(re.compile("^农村留守儿童关爱服务 · "))
    assert page.get_by_role("heading", level=1).inner_text() == "农村留守儿童关爱服务"
    fields = page.locator("dl.item-fields").inner_text()
    for expected in ("开展学业辅导", "乡镇民政办", "社会组织", "群团组织", "公共服务", "儿童福利"):
        assert expected in fields
    # Back to the catalog through the breadcrumb.
    page.locator(".breadcrumb").get_by_role("link", name="2026 年").click()
    expect(page).to_have_url(re.compile(r"/counties/371321/2026$"))


def test_expand_and_collapse_with_javascript_and_expand_all_link(page, session):
    factories.catalog_with_items("371321", 2026)
    page.goto("/counties/371321")
    details = page.locator("details.level-2", has=page.locator("summary", has_text="儿童福利"))
    summary = details.locator("> summary")
    assert details.evaluate("d => d.open") is False
    summary.click()
    assert details.evaluate("d => d.open") is True
    summary.click()
    assert details.evaluate("d => d.open") is False
    # Without JS a visitor can open the whole tree with one link.
    page.get_by_role("link", name="全部展开").click()
    assert page.locator("details:not([open])").count() == 0
    assert page.get_by_role("link", name="乡镇政府法律顾问服务").is_visible()
    page.get_by_role("link", name="收起").click()
    assert page.locator("details[open]").count() == 2


def test_phone_layout(new_page, session, screenshot_dir):
    catalog = factories.catalog_with_items("371321", 2026)
    page = new_page(**PHONE)
    shots = []
    for name, path in [
        ("home", "/"),
        ("county", "/counties/371321?open=all"),
        ("search", "/counties/371321?q=%E5%85%BB%E8%80%81&type=enterprise"),
        ("item", f"/items/{catalog.items[0].id}"),
    ]:
        page.goto(path)
        # Nothing wider than the phone: no horizontal scrolling.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name}: page is {width}px wide"
        target = screenshot_dir / f"phone-{name}.png"
        page.screenshot(path=str(target), full_page=True)
        shots.append(target)
    assert all(shot.stat().st_size > 0 for shot in shots)


def test_officer_imports_and_publishes_and_a_second_browser_sees_it(new_page, session):
    """Issue 2, "Done when": the county officer imports the sample table into a
    new draft and publishes it; an anonymous visitor in another browser sees it."""
    from tests.conftest import SAMPLE_XLSX
    from tests.fixtures.browser import login

    factories.officer("371321", email="officer@yinan.example.com")
    officer = new_page()
    visitor = new_page()

    # Nothing public yet.
    visitor.goto("/")
    assert visitor.get_by_role("link", name="沂南县").count() == 0
    assert visitor.goto("/counties/371321").status == 404

    login(officer, "officer@yinan.example.com", factories.PASSWORD)
    officer.get_by_role("link", name="目录管理").click()
    section = officer.locator("#county-371321")
    section.get_by_label("年度").fill("2026")
    section.get_by_role("button", name="新建草稿").click()
    assert "/manage/catalogs/" in officer.url
    draft_url = officer.url

    officer.get_by_role("link", name="导入 XLSX").click()
    officer.locator("main input[type=file]").set_input_files(str(SAMPLE_XLSX))
    officer.locator("main form").get_by_role("button", name="导入").click()
    assert officer.url == draft_url
    assert "导入成功" in officer.locator(".alert-success").inner_text()

    # Imported but not published: still nothing for the public.
    assert visitor.goto("/counties/371321").status == 404

    officer.get_by_role("link", name="发布…").click()
    officer.get_by_label("我已核对目录内容，确认发布").check()
    officer.locator("main form").get_by_role("button", name="发布").click()
    assert "已发布" in officer.locator(".alert-success").inner_text()

    # The second browser (anonymous) now finds the catalog from the home page.
    visitor.goto("/")
    assert "40 个服务事项" in visitor.locator(".county-list").inner_text()
    visitor.get_by_role("link", name="沂南县").click()
    assert visitor.title().startswith("沂南县2026年乡镇政府购买服务指导性目录")
    assert "共 40 个服务事项" in visitor.locator(".catalog-meta").inner_text()
    visitor.get_by_label("搜索", exact=True).fill("养老")
    visitor.get_by_role("button", name="搜索").click()
    names = visitor.locator(".search-results li.list-group-item a.fw-semibold").all_inner_texts()
    assert "居家养老上门服务" in names
    visitor.get_by_role("link", name="居家养老上门服务").click()
    assert "为失能、半失能、高龄独居老人提供助餐" in visitor.locator("dl.item-fields").inner_text()
