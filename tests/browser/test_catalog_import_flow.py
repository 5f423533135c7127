"""Done-when of issue 8, as a new officer would do it in headless Chromium: import a
county table with a multi-line notes block and merged cells (made here with
openpyxl), fix nothing, publish; the public page shows every item and the notes.
A 2028 catalog published in 2026 does not replace 2026."""
from __future__ import annotations

import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect

from tests import factories
from tests.fixtures.browser import login

pytestmark = pytest.mark.browser

OFFICER = "officer@yinan.example.com"
HEADER = ["序号", "一级目录", "二级目录", "三级目录（具体服务事项）", "服务内容", "购买主体", "承接主体类型", "备注"]
ITEMS_2026 = [
    ("公共服务", "社会救助", "困难群众走访慰问", "入户走访，建立台账", "乡镇民政办", "社会组织；群团组织", "群团组织优先承接"),
    ("公共服务", "社会救助", "临时救助家庭核查", "协助核查家庭经济状况", "乡镇民政办", "社会组织", None),
    ("公共服务", "养老服务", "居家养老上门服务", "助餐、助洁、助浴", "乡镇民政办", "社会组织；企业", None),
    ("公共服务", "养老服务", "农村幸福院运营", "日间照料与文体活动", "乡镇民政办", "社会组织", "每季度考核"),
    ("履职辅助", "法律服务", "乡镇法律顾问", "合法性审查", "乡镇司法所", "企业（律师事务所）", None),
]
NOTES = [
    "注：1. 本目录为指导性目录，各乡镇可结合实际细化。",
    "2. 承接主体应具备相应资质和能力。",
    "购买服务所需资金应纳入年度预算，资金不足的不得实施购买。",
]


def county_table(items, title: str) -> bytes:
    """A county table: a title row, the header, levels 1 and 2 as vertically merged
    cells, then a notes block (first cell, numbered line merged across the row, a
    sentence merged over two rows)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(HEADER)
    first = 3
    for seq, (l1, l2, name, content, dept, types, notes) in enumerate(items, start=1):
        ws.append([seq, l1, l2, name, content, dept, types, notes])
    # Merge equal level-1 / level-2 runs, as county tables do (only the top cell keeps the text).
    for column in (2, 3):
        start = first
        for row in range(first + 1, first + len(items) + 1):
            same = row < first + len(items) and ws.cell(row, column).value == ws.cell(start, column).value
            if not same:
                if row - 1 > start:
                    for r in range(start + 1, row):
                        ws.cell(r, column).value = None
                    ws.merge_cells(start_row=start, start_column=column, end_row=row - 1, end_column=column)
                start = row
    notes_row = first + len(items) + 1
    ws.cell(notes_row, 1, NOTES[0])
    ws.cell(notes_row + 1, 1, NOTES[1])
    ws.merge_cells(start_row=notes_row + 1, start_column=1, end_row=notes_row + 1, end_column=len(HEADER))
    ws.cell(notes_row + 2, 1, NOTES[2])
    ws.merge_cells(start_row=notes_row + 2, start_column=1, end_row=notes_row + 3, end_column=len(HEADER))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def new_draft_import_and_publish(page, year: int, data: bytes) -> None:
    page.goto("/manage/catalogs")
    section = page.locator("#county-371321")
    section.get_by_label("年度").fill(str(year))
    with page.expect_navigation():
        section.get_by_role("button", name="新建草稿").click()
    expect(page.locator(".alert").first).to_contain_text(f"已新建 {year} 年第 1 版空白草稿")
    page.get_by_role("link", name="导入 XLSX").click()
    page.locator("input[type=file]").set_input_files(
        {"name": f"沂南县{year}.xlsx", "mimeType": "application/octet-stream", "buffer": data}
    )
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    return None


def test_officer_imports_a_real_county_table_and_publishes_it(new_page, session):
    factories.officer("371321", email=OFFICER)
    page = new_page()
    login(page, OFFICER, factories.PASSWORD)

    new_draft_import_and_publish(page, 2026, county_table(ITEMS_2026, "沂南县2026年乡镇政府购买服务指导性目录"))
    alerts = page.locator(".alert").all_inner_texts()
    assert any("导入成功" in a and "5 个服务事项" in a for a in alerts), alerts
    assert any("第 9–12 行为表尾说明，已忽略" in a for a in alerts), alerts
    page.get_by_role("link", name="发布…").click()
    expect(page.locator(".publish-period")).to_contain_text("发布后，这将是本县 2026 年的现行目录。")
    page.get_by_label("我已核对目录内容，确认发布").check()
    with page.expect_navigation():
        page.get_by_role("button", name="发布").click()

    visitor = new_page()
    visitor.goto("/counties/371321?open=all")
    tree = visitor.locator(".catalog-tree")
    for _l1, _l2, name, *_rest in ITEMS_2026:
        expect(tree.get_by_role("link", name=name, exact=True)).to_be_visible()
    notes = visitor.locator(".catalog-notes")
    for line in NOTES:
        expect(notes).to_contain_text(line)
    # The 备注 text is kept next to the flag.
    visitor.get_by_role("link", name="困难群众走访慰问").click()
    expect(visitor.locator(".item-fields")).to_contain_text("群团组织优先承接")

    # November 2026: the 2028 catalog is published; 2026 stays current.
    items_2028 = [("公共服务", "养老服务", "二〇二八年新事项", "内容", "乡镇民政办", "社会组织", None)]
    new_draft_import_and_publish(page, 2028, county_table(items_2028, "沂南县2028年目录"))
    page.get_by_role("link", name="发布…").click()
    expect(page.locator(".publish-period")).to_contain_text("下一年度目录（自 2028 年 1 月 1 日起施行）")
    page.get_by_label("我已核对目录内容，确认发布").check()
    with page.expect_navigation():
        page.get_by_role("button", name="发布").click()

    visitor.goto("/")
    county = visitor.locator(".county-list li", has_text="沂南县")
    expect(county).to_contain_text("2026 年目录 · 5 个服务事项")
    visitor.get_by_role("link", name=re.compile("沂南县")).click()
    expect(visitor.locator("h1")).to_have_text("沂南县2026年乡镇政府购买服务指导性目录")
    expect(visitor.locator(".upcoming-banner")).to_contain_text("下一年度目录（自 2028 年 1 月 1 日起施行）")
    visitor.locator(".upcoming-banner a").click()
    expect(visitor.locator(".next-year-banner")).to_contain_text("下一年度目录（自 2028 年 1 月 1 日起施行）")
    expect(visitor.locator(".category-name", has_text="二〇二八年新事项")).to_have_count(1)
    expect(visitor.locator("h1")).to_have_text("沂南县2028年乡镇政府购买服务指导性目录")
