"""Officer catalog management: XLSX import (all or nothing, every problem listed),
XLSX export, and the changes against the previous published version."""
from __future__ import annotations

import io
from urllib.parse import quote

import openpyxl
import pytest
from sqlalchemy import select

from procure.catalog.models import Catalog, Item
from procure.extensions import db
from tests import factories
from tests.catalog.test_manage_edit import ITEM_FORM, category, flashed, item, post, snapshot
from tests.conftest import SAMPLE_XLSX, login

OFFICER = "officer@yinan.example.com"
HEADER = ["序号", "一级目录", "二级目录", "三级目录（具体服务事项）", "服务内容", "购买主体", "承接主体类型", "备注"]


@pytest.fixture
def officer_client(client):
    factories.officer("371321", email=OFFICER)
    login(client, OFFICER, factories.PASSWORD)
    return client


@pytest.fixture
def draft(officer_client):
    return factories.catalog_with_items("371321", 2026, publish=False)


def workbook(rows, header=HEADER) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某县目录"])
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(client, catalog, data: bytes, filename="目录.xlsx"):
    return post(client, f"/manage/catalogs/{catalog.id}/import",
                {"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def test_import_page_explains_the_rules(officer_client, draft):
    html = officer_client.get(f"/manage/catalogs/{draft.id}/import").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html
    assert "全部成功才导入" in html and "10 MB" in html and "5000 行" in html


def test_import_page_offers_the_template_which_imports(officer_client, draft):
    html = officer_client.get(f"/manage/catalogs/{draft.id}/import").get_data(as_text=True)
    assert 'href="/manage/catalogs/import-template.xlsx"' in html
    response = officer_client.get("/manage/catalogs/import-template.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[2]]
    assert header[:4] == ["序号", "一级目录", "二级目录", "三级目录（具体服务事项）"] and "承接主体类型" in header
    # The template itself is a valid file: its example row imports, its notes line becomes the notes.
    redirect = upload(officer_client, draft, response.data)
    page = flashed(officer_client, redirect)
    assert "导入成功：3 个目录、1 个服务事项。" in page
    assert "第 5 行为表尾说明，已忽略" in page
    db.session.expire_all()
    assert db.session.get(Catalog, draft.id).notes.startswith("注：1. 表尾的说明文字")


def test_import_reports_the_notes_block_and_the_public_page_shows_it(officer_client, draft):
    data = workbook([
        [1, "公共服务", "养老服务", "助餐服务", "内容", "民政办", "社会组织", "群团组织优先承接，每季度结算"],
        [2, "公共服务", "养老服务", "助浴服务", "内容", "民政办", "社会组织", None],
        ["注：1. 本目录每年调整。"],
        ["2. 承接主体应依法登记。"],
    ])
    page = flashed(officer_client, upload(officer_client, draft, data))
    assert "导入成功：4 个目录、2 个服务事项。" in page
    assert "第 5–6 行为表尾说明，已忽略" in page
    assert "表尾说明（2 行）已保存为目录的说明" in page
    meal = db.session.scalar(select(Item).where(Item.catalog_id == draft.id, Item.name == "助餐服务"))
    assert meal.mass_org_first and meal.notes == "群团组织优先承接，每季度结算"
    manage = officer_client.get(f"/manage/catalogs/{draft.id}").get_data(as_text=True)
    assert "2. 承接主体应依法登记。" in manage
    post(officer_client, f"/manage/catalogs/{draft.id}/publish", {"confirm": "y"})
    public = officer_client.get("/counties/371321/2026").get_data(as_text=True)
    assert "目录说明" in public and "注：1. 本目录每年调整。" in public and "2. 承接主体应依法登记。" in public


def test_import_of_the_sample_file_replaces_the_draft(officer_client, draft):
    response = upload(officer_client, draft, SAMPLE_XLSX.read_bytes(), "yinan-2026-catalog.xlsx")
    assert response.headers["Location"].endswith(f"/manage/catalogs/{draft.id}")
    page = flashed(officer_client, response)
    assert "导入成功：" in page and "40 个服务事项" in page
    db.session.expire_all()
    names = set(db.session.scalars(select(Item.name).where(Item.catalog_id == draft.id)))
    assert len(names) == 40
    assert "居家养老上门服务" in names and "乡镇政府法律顾问服务" not in names  # old contents replaced


def test_a_file_with_bad_rows_lists_every_problem_and_changes_nothing(officer_client, draft):
    data = workbook([
        [1, "公共服务", "养老服务", "助餐服务", "内容", "民政办", "外星组织", None],
        [2, "公共服务", "养老服务", None, "没有名称的事项", "民政办", "社会组织", None],
        [3, "公共服务", None, "无二级目录的事项", "内容", "民政办", "社会组织", None],
        [4, "公共服务", "养老服务", "重复事项", "内容", "民政办", "社会组织", None],
        [5, "公共服务", "养老服务", "重复事项", "内容", "民政办", "社会组织", None],
    ])
    before = snapshot()
    response = upload(officer_client, draft, data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "目录未做任何修改" in html
    assert "<th>行</th><th>列</th><th>单元格内容</th><th>问题</th>" in html
    assert "外星组织" in html
    # The offending cell's content stands next to the message, in its own column.
    assert '<td class="problem-value">无二级目录的事项</td>' not in html  # the 二级目录 cell is empty
    assert '<td class="problem-value">重复事项</td>' in html
    problem_rows = html.split('class="table table-sm table-striped import-problems"')[1].split("</table>")[0]
    assert problem_rows.count("<tr>") - 1 >= 4  # every bad row, each with its own line
    for row_number in ("<td>3</td>", "<td>4</td>", "<td>5</td>", "<td>7</td>"):
        assert row_number in problem_rows
    assert snapshot() == before


WRONG_FILES = [
    (b"a,b,c\n1,2,3\n", "catalog.csv", "只能导入 .xlsx 格式的 Excel 文件"),
    (b"\xd0\xcf\x11\xe0 old excel", "catalog.xls", "只能导入 .xlsx 格式的 Excel 文件"),
    (b"", "catalog.xlsx", "文件是空的。"),
]


def test_wrong_kind_of_file_is_refused(officer_client, draft):
    before = snapshot()
    for content, filename, message in WRONG_FILES:
        response = upload(officer_client, draft, content, filename)
        assert response.status_code == 200 and message in response.get_data(as_text=True), filename
    assert snapshot() == before


def test_a_disguised_file_is_refused_by_content(officer_client, draft):
    before = snapshot()
    response = upload(officer_client, draft, b"this is plain text, not a workbook" * 10, "catalog.xlsx")
    assert response.status_code == 200
    assert "目录未做任何修改" in response.get_data(as_text=True)
    assert snapshot() == before


def test_missing_file_is_refused(officer_client, draft):
    before = snapshot()
    response = post(officer_client, f"/manage/catalogs/{draft.id}/import", {}, content_type="multipart/form-data")
    assert response.status_code == 200 and "请选择要导入的 XLSX 文件。" in response.get_data(as_text=True)
    assert snapshot() == before


def test_oversized_file_is_refused(app, officer_client, draft, monkeypatch):
    data = SAMPLE_XLSX.read_bytes()
    monkeypatch.setitem(app.config, "CATALOG_IMPORT_MAX_BYTES", len(data) - 1)
    before = snapshot()
    response = upload(officer_client, draft, data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "文件太大" in html and "上限为" in html
    assert snapshot() == before


def test_too_many_rows_is_refused(app, officer_client, draft, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_IMPORT_MAX_ROWS", 10)
    before = snapshot()
    response = upload(officer_client, draft, SAMPLE_XLSX.read_bytes())
    assert response.status_code == 200 and "目录未做任何修改" in response.get_data(as_text=True)
    assert snapshot() == before


# --- export ----------------------------------------------------------------------


@pytest.mark.parametrize("publish", [True, False])
def test_export_downloads_an_xlsx_that_reimports_to_the_same_catalog(officer_client, publish):
    source = factories.catalog_with_items("371321", 2026, publish=publish)
    response = officer_client.get(f"/manage/catalogs/{source.id}/export")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="catalog-371321-2026-v1.xlsx"' in disposition
    assert f"filename*=UTF-8''{quote('沂南县-2026-v1.xlsx')}" in disposition

    target = factories.catalog_with_items("371321", 2027, items=[], publish=False)
    assert upload(officer_client, target, response.data).status_code == 302

    def contents(catalog_id):
        db.session.expire_all()
        return sorted(
            (i.category.code, i.code, i.name, i.service_content, i.purchasing_department, tuple(i.undertaker_types),
             i.mass_org_first)
            for i in db.session.scalars(select(Item).where(Item.catalog_id == catalog_id))
        )

    assert contents(target.id) == contents(source.id)


# --- changes against the previous published version ----------------------------------


def test_changes_page_lists_added_removed_and_changed_fields(officer_client):
    published = factories.catalog_with_items("371321", 2026)
    prefix = f"county{published.county_id}-"
    response = post(officer_client, "/manage/counties/371321/catalogs",
                    {prefix + "year": "2026", prefix + "copy_from": str(published.id)})
    draft = db.session.scalar(select(Catalog).where(Catalog.version == 2))
    base = f"/manage/catalogs/{draft.id}"
    # remove one item (the last of its level-3 category, which goes too), add one, change two fields of another
    post(officer_client, f"{base}/items/{item(draft.id, '农村幸福院运营管理').id}/delete")
    assert category(draft.id, "机构养老") is None
    post(officer_client, f"{base}/categories/{category(draft.id, '居家养老').id}/items/new", ITEM_FORM)
    changed = item(draft.id, "乡镇政府法律顾问服务")
    response = post(officer_client, f"{base}/items/{changed.id}/edit", {
        "name": changed.name, "service_content": "合法性审查与合同审核", "purchasing_department": "乡镇司法所",
        "undertaker_types": ["enterprise"],
    })
    assert response.status_code == 302

    html = officer_client.get(f"{base}/changes").get_data(as_text=True)
    added = html.split('id="added"')[1].split("</section>")[0]
    removed = html.split('id="removed"')[1].split("</section>")[0]
    changes = html.split('id="changed"')[1].split("</section>")[0]
    assert ITEM_FORM["name"] in added and "（1）" in added
    assert "农村幸福院运营管理" in removed and "（1）" in removed
    assert "乡镇政府法律顾问服务" in changes and "（1）" in changes
    assert "为乡镇政府提供合法性审查" in changes and "合法性审查与合同审核" in changes
    assert "乡镇民政办" in changes and "乡镇司法所" in changes
    assert "居家养老上门服务" not in changes
    categories = html.split('id="categories"')[1].split("</section>")[0]
    assert "新增分类（0）" in categories and "删除分类（1）" in categories and "机构养老" in categories


def test_changes_page_without_a_previous_version(officer_client, draft):
    html = officer_client.get(f"/manage/catalogs/{draft.id}/changes").get_data(as_text=True)
    assert "没有更早的已发布版本可以对比" in html
