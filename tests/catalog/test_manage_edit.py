"""Officer catalog management: drafts, categories, items, publication, with the
bad inputs each form must refuse without changing anything."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from procure.catalog.models import Catalog, CatalogStatus, Category, Item
from procure.extensions import db
from tests import factories
from tests.conftest import csrf_token, login

OFFICER = "officer@yinan.example.com"


def snapshot():
    """Everything stored about catalogs, to prove a refused request changed nothing."""
    db.session.expire_all()
    catalogs = db.session.execute(
        select(Catalog.id, Catalog.year, Catalog.version, Catalog.status, Catalog.title, Catalog.published_at)
        .order_by(Catalog.id)
    ).all()
    categories = db.session.execute(
        select(Category.id, Category.catalog_id, Category.parent_id, Category.code, Category.name).order_by(Category.id)
    ).all()
    items = db.session.execute(
        select(Item.id, Item.category_id, Item.code, Item.name, Item.service_content, Item.purchasing_department,
               Item.undertaker_types, Item.undertaker_notes, Item.mass_org_first, Item.notes, Item.reference_budget)
        .order_by(Item.id)
    ).all()
    return catalogs, categories, items


@pytest.fixture
def officer_client(client):
    factories.officer("371321", email=OFFICER)
    login(client, OFFICER, factories.PASSWORD)
    return client


@pytest.fixture
def draft(officer_client):
    return factories.catalog_with_items("371321", 2026, publish=False)


def post(client, path, data=None, **kw):
    """POST with the session's CSRF token."""
    payload = {"csrf_token": csrf_token(client, "/manage/catalogs"), **(data or {})}
    return client.post(path, data=payload, **kw)


def flashed(client, response) -> str:
    assert response.status_code == 302, response.status_code
    return client.get(response.headers["Location"]).get_data(as_text=True)


def category(catalog_id, name) -> Category:
    return db.session.scalar(select(Category).where(Category.catalog_id == catalog_id, Category.name == name))


def item(catalog_id, name) -> Item:
    return db.session.scalar(select(Item).where(Item.catalog_id == catalog_id, Item.name == name))


ITEM_FORM = {
    "name": "社区矫正帮扶服务",
    "service_content": "心理疏导、就业帮扶",
    "purchasing_department": "司法所",
    "undertaker_types": ["social_organization", "enterprise"],
    "note_enterprise": "律师事务所",
    "mass_org_first": "y",
    "notes": "按年度购买",
    "reference_budget": "50,000.5",
}


# --- index and drafts ------------------------------------------------------------


def test_index_lists_versions_with_status_and_new_draft_form(officer_client):
    published = factories.catalog_with_items("371321", 2026)
    db.session.expire_all()
    factories.catalog_with_items("371321", 2026, publish=True)  # v2 supersedes v1
    html = officer_client.get("/manage/catalogs").get_data(as_text=True)
    assert "沂南县" in html and "已发布" in html and "已废止" in html
    assert f'/manage/catalogs/{published.id}"' in html
    assert 'action="/manage/counties/371321/catalogs"' in html
    assert "复制 2026 年第 2 版（已发布）" in html


def test_create_empty_draft_and_copy_of_published(officer_client):
    published = factories.catalog_with_items("371321", 2026)
    prefix = f"county{published.county_id}-"
    response = post(officer_client, "/manage/counties/371321/catalogs", {prefix + "year": "2027", prefix + "copy_from": ""})
    assert "已新建 2027 年第 1 版空白草稿" in flashed(officer_client, response)
    empty = db.session.scalar(select(Catalog).where(Catalog.year == 2027))
    assert empty.is_draft and not empty.items

    response = post(officer_client, "/manage/counties/371321/catalogs",
                    {prefix + "year": "2026", prefix + "copy_from": str(published.id)})
    assert "内容复制自 2026 年第 1 版" in flashed(officer_client, response)
    copy = db.session.scalar(select(Catalog).where(Catalog.year == 2026, Catalog.version == 2))
    assert copy.is_draft and copy.based_on_id == published.id
    assert sorted(i.name for i in copy.items) == sorted(i.name for i in published.items)
    assert response.headers["Location"].endswith(f"/manage/catalogs/{copy.id}")


CREATE_DRAFT_BAD_INPUT = [
    ("", "", "请填写年度。"),
    ("26", "", "年度应为四位数字"),
    ("1999", "", "年度不正确。"),
    ("2026", "999999", "请选择空白目录或一个已发布的版本。"),
]


def test_create_draft_bad_input_changes_nothing(officer_client):
    county_id = factories.county("371321").id
    before = snapshot()
    for year, copy_from, message in CREATE_DRAFT_BAD_INPUT:
        response = post(officer_client, "/manage/counties/371321/catalogs",
                        {f"county{county_id}-year": year, f"county{county_id}-copy_from": copy_from})
        assert message in flashed(officer_client, response), (year, copy_from)
    assert snapshot() == before


def test_second_draft_for_the_same_year_is_refused(officer_client, draft):
    before = snapshot()
    response = post(officer_client, "/manage/counties/371321/catalogs",
                    {f"county{draft.county_id}-year": "2026", f"county{draft.county_id}-copy_from": ""})
    assert "该年度已有一份草稿" in flashed(officer_client, response)
    assert snapshot() == before


def test_copy_of_another_countys_catalog_is_not_offered(officer_client):
    other = factories.catalog_with_items("371302", 2026)
    county_id = factories.county("371321").id
    before = snapshot()
    response = post(officer_client, "/manage/counties/371321/catalogs",
                    {f"county{county_id}-year": "2026", f"county{county_id}-copy_from": str(other.id)})
    assert "请选择空白目录或一个已发布的版本。" in flashed(officer_client, response)
    assert snapshot() == before


# --- the catalog page and categories --------------------------------------------------------


def test_catalog_page_shows_tree_items_and_edit_controls(officer_client, draft):
    html = officer_client.get(f"/manage/catalogs/{draft.id}").get_data(as_text=True)
    assert "草稿" in html
    for text in ("公共服务", "养老服务", "居家养老", "居家养老上门服务", "社会组织、企业", "群团组织优先"):
        assert text in html
    assert f"/manage/catalogs/{draft.id}/publish" in html
    assert f"/manage/catalogs/{draft.id}/import" in html
    assert "改名、添加或删除" in html and "添加服务事项" in html
    leaf, target = category(draft.id, "居家养老"), item(draft.id, "居家养老上门服务")
    assert f'href="/manage/catalogs/{draft.id}/categories/{leaf.id}"' in html
    assert f'href="/manage/catalogs/{draft.id}/categories/{leaf.id}/items/new"' in html
    assert f'href="/manage/catalogs/{draft.id}/items/{target.id}/edit"' in html


def test_category_page_renames_adds_and_deletes(officer_client, draft):
    """The forms of one category, on its own page; each posts with the session's token."""
    parent = category(draft.id, "养老服务")
    page = f"/manage/catalogs/{draft.id}/categories/{parent.id}"
    html = officer_client.get(page).get_data(as_text=True)
    base = f"/manage/catalogs/{draft.id}/categories"
    for action in (f"{base}/{parent.id}/rename", base, f"{base}/{parent.id}/delete"):
        assert f'action="{action}"' in html
    assert html.count('name="csrf_token"') == 3 + 3  # its three forms and the site bar's
    assert f'name="parent_id" value="{parent.id}"' in html and "添加三级目录" in html
    token = csrf_token(officer_client, page)
    response = officer_client.post(f"{base}/{parent.id}/rename", data={"csrf_token": token, "name": "养老助老服务"})
    assert response.headers["Location"].endswith(f"#cat-{parent.id}")
    assert "已改名为 养老助老服务" in flashed(officer_client, response)
    leaf_page = officer_client.get(f"{base}/{category(draft.id, '居家养老').id}").get_data(as_text=True)
    assert "添加服务事项" in leaf_page and "添加子目录" not in leaf_page


def test_item_page_offers_its_deletion(officer_client, draft):
    target = item(draft.id, "居家养老上门服务")
    html = officer_client.get(f"/manage/catalogs/{draft.id}/items/{target.id}/edit").get_data(as_text=True)
    assert f'action="/manage/catalogs/{draft.id}/items/{target.id}/delete"' in html
    assert f"确认删除 {target.code} 居家养老上门服务" in html


def test_add_categories_on_three_levels(officer_client, draft):
    path = f"/manage/catalogs/{draft.id}/categories"
    assert "已添加目录 C 社会治理" in flashed(officer_client, post(officer_client, path, {"name": " 社会治理 "}))
    level1 = category(draft.id, "社会治理")
    post(officer_client, path, {"name": "社区建设", "parent_id": str(level1.id)})
    level2 = category(draft.id, "社区建设")
    response = post(officer_client, path, {"name": "社区服务", "parent_id": str(level2.id)})
    level3 = category(draft.id, "社区服务")
    assert (level1.level, level2.level, level3.level) == (1, 2, 3)
    assert (level1.code, level2.code, level3.code) == ("C", "C01", "C0101")
    assert response.headers["Location"].endswith(f"#cat-{level3.id}")


ADD_CATEGORY_BAD_INPUT = [
    ("", None, "请填写目录名称。"),
    ("   ", None, "请填写目录名称。"),
    ("公共服务", None, "同一上级下已有同名目录。"),
    ("养老服务", "公共服务", "同一上级下已有同名目录。"),
    ("第四级", "居家养老", "三级目录下不能再建子目录。"),
    ("超长" * 101, None, "目录名称不能超过 200 个字。"),
]


def test_add_category_bad_input_changes_nothing(officer_client, draft):
    before = snapshot()
    for name, parent, message in ADD_CATEGORY_BAD_INPUT:
        data = {"name": name}
        if parent:
            data["parent_id"] = str(category(draft.id, parent).id)
        response = post(officer_client, f"/manage/catalogs/{draft.id}/categories", data)
        assert message in flashed(officer_client, response), (name, parent)
    assert snapshot() == before


def test_add_category_under_a_category_of_another_catalog_is_404(officer_client, draft):
    other = factories.catalog_with_items("371321", 2025, publish=False)
    before = snapshot()
    response = post(officer_client, f"/manage/catalogs/{draft.id}/categories",
                    {"name": "X", "parent_id": str(category(other.id, "公共服务").id)})
    assert response.status_code == 404
    assert snapshot() == before


def test_rename_category(officer_client, draft):
    cat = category(draft.id, "养老服务")
    response = post(officer_client, f"/manage/catalogs/{draft.id}/categories/{cat.id}/rename", {"name": "养老助老服务"})
    assert "已改名为 养老助老服务" in flashed(officer_client, response)
    db.session.expire_all()
    assert db.session.get(Category, cat.id).name == "养老助老服务"


def test_rename_category_bad_input_changes_nothing(officer_client, draft):
    cat = category(draft.id, "养老服务")
    before = snapshot()
    for name, message in [("", "请填写目录名称。"), ("儿童福利", "同一上级下已有同名目录。")]:
        response = post(officer_client, f"/manage/catalogs/{draft.id}/categories/{cat.id}/rename", {"name": name})
        assert message in flashed(officer_client, response), name
    assert snapshot() == before


def test_delete_category_only_when_empty(officer_client, draft):
    full = category(draft.id, "养老服务")
    before = snapshot()
    response = post(officer_client, f"/manage/catalogs/{draft.id}/categories/{full.id}/delete")
    assert "请先删除它们" in flashed(officer_client, response)
    assert snapshot() == before

    post(officer_client, f"/manage/catalogs/{draft.id}/categories", {"name": "空目录"})
    empty_id = category(draft.id, "空目录").id
    response = post(officer_client, f"/manage/catalogs/{draft.id}/categories/{empty_id}/delete")
    assert "已删除目录" in flashed(officer_client, response)
    db.session.expire_all()
    assert db.session.get(Category, empty_id) is None


# --- items -----------------------------------------------------------------------


def test_add_item_with_every_field(officer_client, draft):
    leaf = category(draft.id, "居家养老")
    path = f"/manage/catalogs/{draft.id}/categories/{leaf.id}/items/new"
    html = officer_client.get(path).get_data(as_text=True)
    assert 'type="checkbox"' in html and "律师事务所" in html and "参考预算（元）" in html
    response = post(officer_client, path, ITEM_FORM)
    assert "已添加服务事项 A010102 社区矫正帮扶服务" in flashed(officer_client, response)
    new = item(draft.id, "社区矫正帮扶服务")
    assert new.category_id == leaf.id
    assert new.service_content == "心理疏导、就业帮扶" and new.purchasing_department == "司法所"
    assert new.undertaker_types == ["enterprise", "social_organization"]
    assert new.undertaker_notes == {"enterprise": "律师事务所"}
    assert new.mass_org_first is True and new.notes == "按年度购买"
    assert new.reference_budget == Decimal("50000.50")


def test_item_budget_is_optional(officer_client, draft):
    leaf = category(draft.id, "居家养老")
    data = {**ITEM_FORM, "reference_budget": "", "mass_org_first": ""}
    del data["mass_org_first"]
    response = post(officer_client, f"/manage/catalogs/{draft.id}/categories/{leaf.id}/items/new", data)
    assert response.status_code == 302
    new = item(draft.id, ITEM_FORM["name"])
    assert new.reference_budget is None and new.mass_org_first is False


ADD_ITEM_BAD_INPUT = [
    ({"name": ""}, "请填写服务事项名称。"),
    ({"name": "   "}, "请填写服务事项名称。"),
    ({"name": "居家养老上门服务"}, "该目录下已有同名服务事项。"),
    ({"undertaker_types": []}, "请至少选择一种承接主体类型。"),
    ({"undertaker_types": ["martians"]}, "未知的承接主体类型"),
    ({"reference_budget": "-1"}, "参考预算不能为负数。"),
    ({"reference_budget": "五万"}, "参考预算应为金额数字"),
    ({"reference_budget": "1.005"}, "最多保留两位小数"),
    ({"reference_budget": "1e20"}, "参考预算金额过大。"),
    ({"reference_budget": "NaN"}, "参考预算应为金额数字"),
    ({"note_enterprise": "长" * 201}, "承接主体说明不能超过 200 个字。"),
]


def test_add_item_bad_input_changes_nothing(officer_client, draft):
    leaf = category(draft.id, "居家养老")
    before = snapshot()
    for changes, message in ADD_ITEM_BAD_INPUT:
        response = post(officer_client, f"/manage/catalogs/{draft.id}/categories/{leaf.id}/items/new",
                        {**ITEM_FORM, **changes})
        assert response.status_code == 200, changes
        html = response.get_data(as_text=True)
        assert message in html, changes
        assert "内容尚未保存" in html, changes
    assert snapshot() == before


def test_item_under_a_level_2_category_is_refused(officer_client, draft):
    level2 = category(draft.id, "养老服务")
    before = snapshot()
    response = post(officer_client, f"/manage/catalogs/{draft.id}/categories/{level2.id}/items/new", ITEM_FORM)
    assert "服务事项只能挂在三级目录下。" in flashed(officer_client, response)
    assert snapshot() == before


def test_edit_item_prefills_and_saves(officer_client, draft):
    target = item(draft.id, "乡镇政府法律顾问服务")
    path = f"/manage/catalogs/{draft.id}/items/{target.id}/edit"
    html = officer_client.get(path).get_data(as_text=True)
    assert 'value="乡镇政府法律顾问服务"' in html
    assert 'value="enterprise" checked' in html or 'checked value="enterprise"' in html or "checked" in html
    response = post(officer_client, path, {**ITEM_FORM, "name": "法律顾问服务（修订）", "reference_budget": "80000"})
    assert "已保存服务事项" in flashed(officer_client, response)
    db.session.expire_all()
    saved = db.session.get(Item, target.id)
    assert saved.name == "法律顾问服务（修订）" and saved.reference_budget == Decimal("80000.00")
    assert saved.code == target.code
    html = officer_client.get(path).get_data(as_text=True)
    assert 'value="80000.00"' in html and 'value="律师事务所"' in html


def test_edit_item_bad_input_changes_nothing(officer_client, draft):
    target = item(draft.id, "居家养老上门服务")
    before = snapshot()
    response = post(officer_client, f"/manage/catalogs/{draft.id}/items/{target.id}/edit",
                    {**ITEM_FORM, "reference_budget": "-5", "undertaker_types": []})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "参考预算不能为负数。" in html and "请至少选择一种承接主体类型。" in html
    assert snapshot() == before


def test_delete_item(officer_client, draft):
    target_id = item(draft.id, "居家养老上门服务").id
    response = post(officer_client, f"/manage/catalogs/{draft.id}/items/{target_id}/delete")
    assert "已删除服务事项" in flashed(officer_client, response)
    db.session.expire_all()
    assert db.session.get(Item, target_id) is None


def test_item_of_another_catalog_is_404(officer_client, draft):
    other = factories.catalog_with_items("371321", 2025, publish=False)
    foreign = item(other.id, "居家养老上门服务")
    assert officer_client.get(f"/manage/catalogs/{draft.id}/items/{foreign.id}/edit").status_code == 404
    before = snapshot()
    assert post(officer_client, f"/manage/catalogs/{draft.id}/items/{foreign.id}/delete").status_code == 404
    assert snapshot() == before


# --- publication and deletion ------------------------------------------------------------


def test_publish_needs_confirmation_then_supersedes_previous(officer_client):
    first = factories.catalog_with_items("371321", 2026)
    draft = factories.catalog_with_items("371321", 2026, publish=False)
    path = f"/manage/catalogs/{draft.id}/publish"
    html = officer_client.get(path).get_data(as_text=True)
    assert "第 1 版" in html and "将被废止" in html

    before = snapshot()
    unconfirmed = post(officer_client, path, {})
    assert unconfirmed.status_code == 200 and "请勾选确认后再发布。" in unconfirmed.get_data(as_text=True)
    assert snapshot() == before

    response = post(officer_client, path, {"confirm": "y"})
    assert "2026 年第 2 版已发布，原第 1 版已废止。" in flashed(officer_client, response)
    db.session.expire_all()
    assert db.session.get(Catalog, draft.id).status == CatalogStatus.PUBLISHED
    assert db.session.get(Catalog, first.id).status == CatalogStatus.SUPERSEDED


def test_publishing_an_empty_draft_is_refused(officer_client):
    county = factories.county("371321")
    from procure.catalog import services

    empty = services.create_draft(db.session, county=county, year=2026, user=None)
    db.session.commit()
    before = snapshot()
    response = post(officer_client, f"/manage/catalogs/{empty.id}/publish", {"confirm": "y"})
    assert response.status_code == 200
    assert "目录中没有任何服务事项，不能发布。" in response.get_data(as_text=True)
    assert snapshot() == before


def test_delete_draft_after_confirmation(officer_client, draft):
    html = officer_client.get(f"/manage/catalogs/{draft.id}/delete").get_data(as_text=True)
    assert "确认删除草稿" in html
    draft_id = draft.id
    response = post(officer_client, f"/manage/catalogs/{draft_id}/delete")
    assert response.headers["Location"].endswith("/manage/catalogs")
    assert "已删除 2026 年第 1 版草稿。" in flashed(officer_client, response)
    db.session.expire_all()
    assert db.session.get(Catalog, draft_id) is None


# --- published and superseded versions are read-only ----------------------------------------


def test_published_catalog_page_hides_edit_controls(officer_client):
    published = factories.catalog_with_items("371321", 2026)
    html = officer_client.get(f"/manage/catalogs/{published.id}").get_data(as_text=True)
    assert "已发布" in html and "只能查看和导出" in html
    assert f"/manage/catalogs/{published.id}/export" in html
    for hidden in ("/publish", "/import", "/delete", "/rename", "/items/new", "/edit", "/categories\""):
        assert f"/manage/catalogs/{published.id}{hidden}" not in html
    assert "改名" not in html and "添加服务事项" not in html


@pytest.mark.parametrize("superseded", [False, True])
def test_every_edit_of_a_published_or_superseded_catalog_is_refused(officer_client, superseded):
    catalog = factories.catalog_with_items("371321", 2026)
    if superseded:
        db.session.expire_all()
        factories.catalog_with_items("371321", 2026)
        db.session.expire_all()
        assert db.session.get(Catalog, catalog.id).status == CatalogStatus.SUPERSEDED
    leaf = category(catalog.id, "居家养老")
    target = item(catalog.id, "居家养老上门服务")
    base = f"/manage/catalogs/{catalog.id}"
    before = snapshot()
    for path, data in [
        (f"{base}/categories", {"name": "新目录"}),
        (f"{base}/categories/{leaf.id}/rename", {"name": "改名"}),
        (f"{base}/categories/{leaf.id}/delete", {}),
        (f"{base}/categories/{leaf.id}/items/new", ITEM_FORM),
        (f"{base}/items/{target.id}/edit", ITEM_FORM),
        (f"{base}/items/{target.id}/delete", {}),
        (f"{base}/publish", {"confirm": "y"}),
        (f"{base}/delete", {}),
        (f"{base}/import", {}),
    ]:
        response = post(officer_client, path, data)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith(base), path
        assert "只能查看和导出，不能修改" in officer_client.get(base).get_data(as_text=True), path
    assert snapshot() == before
    # The edit pages themselves are not offered either.
    for path in (f"{base}/categories/{leaf.id}/items/new", f"{base}/items/{target.id}/edit",
                 f"{base}/publish", f"{base}/delete", f"{base}/import"):
        assert officer_client.get(path).status_code == 302, path


def test_post_without_csrf_token_is_refused(officer_client, draft):
    before = snapshot()
    response = officer_client.post(f"/manage/catalogs/{draft.id}/categories", data={"name": "无令牌"})
    assert response.status_code == 400
    response = officer_client.post(f"/manage/catalogs/{draft.id}/delete", data={})
    assert response.status_code == 400
    assert snapshot() == before


# --- large catalogs: outline of levels 1-2, one level-2 category at a time ------------------


def test_large_catalog_shows_an_outline_and_one_level_2_category_at_a_time(officer_client, draft, monkeypatch):
    monkeypatch.setitem(officer_client.application.config, "CATALOG_TREE_INLINE_ITEMS", 2)
    base = f"/manage/catalogs/{draft.id}"
    outline = officer_client.get(base).get_data(as_text=True)
    level2 = category(draft.id, "养老服务")
    assert "养老服务" in outline and "儿童福利" in outline
    assert "居家养老上门服务" not in outline and "居家养老" not in outline  # no level 3, no items
    assert f"{base}?cat={level2.id}" in outline and "展开查看（2 个服务事项）" in outline
    # level 1 opened: still an outline
    level1 = category(draft.id, "公共服务")
    html = officer_client.get(f"{base}?cat={level1.id}").get_data(as_text=True)
    assert "养老服务" in html and "居家养老上门服务" not in html and "政府履职所需辅助性服务" not in html

    page = officer_client.get(f"{base}?cat={level2.id}").get_data(as_text=True)
    assert "居家养老上门服务" in page and "农村幸福院运营管理" in page
    assert "农村留守儿童关爱服务" not in page and "完整目录" in page

    # after an edit the officer lands on the same level-2 category again
    target = item(draft.id, "居家养老上门服务")
    response = post(officer_client, f"{base}/items/{target.id}/edit", {**ITEM_FORM, "name": "居家养老上门服务"})
    assert response.headers["Location"].endswith(f"{base}?cat={level2.id}#item-{target.id}")
    leaf = category(draft.id, "居家养老")
    response = post(officer_client, f"{base}/categories/{leaf.id}/rename", {"name": "居家养老服务"})
    assert response.headers["Location"].endswith(f"{base}?cat={level2.id}#cat-{leaf.id}")

    assert officer_client.get(f"{base}?cat=abc").status_code == 404
    other = factories.catalog_with_items("371321", 2025, publish=False)
    assert officer_client.get(f"{base}?cat={category(other.id, '养老服务').id}").status_code == 404


def test_published_catalog_page_offers_a_new_draft_copied_from_it(officer_client):
    published = factories.catalog_with_items("371321", 2026)
    html = officer_client.get(f"/manage/catalogs/{published.id}").get_data(as_text=True)
    assert "以本版本为基础新建草稿" in html
    token = csrf_token(officer_client, f"/manage/catalogs/{published.id}")
    prefix = f"county{published.county_id}-"
    response = officer_client.post("/manage/counties/371321/catalogs", data={
        "csrf_token": token, prefix + "year": "2026", prefix + "copy_from": str(published.id)})
    assert "内容复制自 2026 年第 1 版" in flashed(officer_client, response)
    copy = db.session.scalar(select(Catalog).where(Catalog.version == 2))
    assert copy.is_draft and len(copy.items) == len(published.items)


def test_a_copy_says_which_year_it_was_copied_from(officer_client):
    """A 2027 draft copied from 2026's version 1 says so, not "第 1 版（复制自第 1 版）"."""
    published = factories.catalog_with_items("371321", 2026)
    prefix = f"county{published.county_id}-"
    response = post(officer_client, "/manage/counties/371321/catalogs",
                    {prefix + "year": "2027", prefix + "copy_from": str(published.id)})
    assert "已新建 2027 年第 1 版草稿，内容复制自 2026 年第 1 版。" in flashed(officer_client, response)
    copy = db.session.scalar(select(Catalog).where(Catalog.year == 2027))
    assert "复制自 2026 年第 1 版" in officer_client.get(f"/manage/catalogs/{copy.id}").get_data(as_text=True)
    assert "（复制自 2026 年第 1 版）" in officer_client.get("/manage/catalogs").get_data(as_text=True)
