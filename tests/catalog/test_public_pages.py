"""Public catalog pages (no login): drafts stay hidden, search, filters, versions."""
import re

import pytest

from procure.catalog import services as catalog_services
from tests import factories
from tests.conftest import login

YINAN = "371321"


def text(response) -> str:
    return response.get_data(as_text=True)


def title(response) -> str:
    return re.search(r"<title>(.*?)</title>", text(response), re.S).group(1)


def item_names(response) -> list[str]:
    """Names of the items listed in the search results of a catalog page."""
    html = text(response)
    section = html.split('class="search-results"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<a class="fw-semibold" href="/items/\d+">([^<]+)</a>', section)


def test_home_lists_counties_with_a_published_catalog(client):
    factories.catalog_with_items(YINAN, 2026)
    factories.catalog_with_items("370102", 2026, publish=False)  # a draft elsewhere: not listed
    html = text(client.get("/"))
    assert "沂南县" in html and "临沂市" in html
    assert "2026 年目录 · 4 个服务事项" in html
    assert 'href="/counties/371321"' in html
    assert "/counties/370102" not in html


def test_county_page_shows_tree_with_counts(client):
    catalog = factories.catalog_with_items(YINAN, 2026)
    response = client.get("/counties/371321")
    assert response.status_code == 200
    html = text(response)
    assert catalog.title in title(response)
    assert html.count("<details") == 9  # 2 level-1, 3 level-2, 4 level-3 categories
    # 公共服务 holds 3 items, 养老服务 2, 政府履职所需辅助性服务 1.
    assert re.search(r"公共服务</span>\s*<span[^>]*>3 项", html)
    assert re.search(r"养老服务</span>\s*<span[^>]*>2 项", html)
    assert re.search(r"政府履职所需辅助性服务</span>\s*<span[^>]*>1 项", html)
    assert "居家养老上门服务" in html and "共 4 个服务事项" in html
    # Level 1 open by default, everything open on request; no inline script or style.
    assert html.count("<details class=\"category level-1\" open>") == 2
    assert "<details class=\"category level-3\">" in html
    assert text(client.get("/counties/371321?open=all")).count(" open>") == 9
    # The tree works without JavaScript; the only script is the site's file (no inline code).
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/procure.js" defer>'] and "style=" not in html


def test_drafts_are_never_public(app, client):
    officer = factories.officer(email="o@example.com")
    draft = factories.catalog_with_items(YINAN, 2026, publish=False)
    item_id = draft.items[0].id
    assert client.get("/counties/371321").status_code == 404
    assert client.get("/counties/371321/2026").status_code == 404
    assert client.get(f"/catalogs/{draft.id}").status_code == 404
    assert client.get(f"/items/{item_id}").status_code == 404
    assert "居家养老上门服务" not in text(client.get("/"))
    # Not on the public pages even for the county's own officer.
    login(client, "o@example.com", factories.PASSWORD)
    assert client.get(f"/catalogs/{draft.id}").status_code == 404
    assert client.get(f"/items/{item_id}").status_code == 404
    assert officer.id


def test_a_new_draft_does_not_change_the_public_page(client, session):
    published = factories.catalog_with_items(YINAN, 2026)
    draft = catalog_services.create_draft(session, county=published.county, year=2026, user=None,
                                          copy_from=published)
    catalog_services.update_item(
        session, draft.items[0],
        catalog_services.ItemData(name="草稿中改名的事项", undertaker_types=["enterprise"]),
    )
    session.commit()
    html = text(client.get("/counties/371321"))
    assert "草稿中改名的事项" not in html
    assert client.get(f"/items/{draft.items[0].id}").status_code == 404


def test_unknown_county_or_year_is_404(client):
    factories.catalog_with_items(YINAN, 2026)
    assert client.get("/counties/999999").status_code == 404
    assert client.get("/counties/3713").status_code == 404  # a city, not a county
    assert client.get("/counties/371321/2019").status_code == 404
    assert client.get("/catalogs/999999").status_code == 404
    assert client.get("/items/999999").status_code == 404
    assert client.get("/counties/370102").status_code == 404  # county without a catalog


@pytest.mark.parametrize(
    "query, expected",
    [
        ("养老", {"居家养老上门服务", "农村幸福院运营管理"}),  # substring of an item / a category
        ("居家养老上门服务", {"居家养老上门服务"}),
        ("上门", {"居家养老上门服务"}),
        ("学业辅导", {"农村留守儿童关爱服务"}),  # service content
        ("儿童福利", {"农村留守儿童关爱服务"}),  # level-2 category name
        ("政府履职", {"乡镇政府法律顾问服务"}),  # level-1 category name
        ("留守儿童", {"农村留守儿童关爱服务"}),  # level-3 category name
        ("农村 运营", {"农村幸福院运营管理"}),  # all terms must match
        ("农村\u3000运营", {"农村幸福院运营管理"}),  # full-width space separates terms too
        ("不存在的事项", set()),
        ("50%", set()),  # LIKE wildcards are literal
        ("_", set()),
    ],
)
def test_search_finds_chinese_substrings(client, query, expected):
    factories.catalog_with_items(YINAN, 2026)
    response = client.get("/counties/371321", query_string={"q": query})
    assert response.status_code == 200
    assert set(item_names(response)) == expected
    assert f"找到 {len(expected)} 个服务事项" in text(response)
    assert "<details" not in text(response)  # results replace the tree


def test_search_is_case_insensitive_for_latin_letters(client):
    items = [("公共服务", "信息化", "系统", "OA系统运维", "办公OA系统维护", ["enterprise"], False)]
    factories.catalog_with_items(YINAN, 2026, items=items)
    assert item_names(client.get("/counties/371321?q=oa")) == ["OA系统运维"]


def test_filters_by_undertaker_type_and_mass_org_first(client):
    factories.catalog_with_items(YINAN, 2026)
    enterprise = client.get("/counties/371321?type=enterprise")
    assert set(item_names(enterprise)) == {"居家养老上门服务", "乡镇政府法律顾问服务"}
    assert 'value="enterprise" selected' in text(enterprise)
    village = client.get("/counties/371321?type=village_organization")
    assert item_names(village) == ["农村幸福院运营管理"]
    mass = client.get("/counties/371321?mass=1")
    assert item_names(mass) == ["农村留守儿童关爱服务"]
    assert 'id="search-mass" name="mass" value="1" checked' in text(mass)
    combined = client.get("/counties/371321?mass=1&type=enterprise")
    assert item_names(combined) == []
    search_and_type = client.get("/counties/371321", query_string={"q": "养老", "type": "village_organization"})
    assert item_names(search_and_type) == ["农村幸福院运营管理"]


def test_bad_filter_values_get_a_message_and_are_ignored(client):
    factories.catalog_with_items(YINAN, 2026)
    response = client.get("/counties/371321?type=nonsense")
    assert response.status_code == 200
    assert "未知的承接主体类型，已忽略该筛选条件。" in text(response)
    assert "<details" in text(response)  # no filter left: the tree is shown
    long_query = client.get("/counties/371321", query_string={"q": "养" * 500})
    assert long_query.status_code == 200 and "搜索词过长" in text(long_query)
    assert client.get("/counties/371321?q=养老&page=abc").status_code == 200
    assert client.get("/counties/371321?q=养老&page=-4").status_code == 200


def test_results_are_paginated(client):
    items = [("公共服务", "养老服务", "居家养老", f"养老事项{i:03d}", "", ["enterprise"], False) for i in range(60)]
    factories.catalog_with_items(YINAN, 2026, items=items)
    first = client.get("/counties/371321?q=养老")
    assert len(item_names(first)) == 50 and "第 1 / 2 页" in text(first)
    assert "page=2" in text(first)
    second = client.get("/counties/371321?q=养老&page=2")
    assert item_names(second) == [f"养老事项{i:03d}" for i in range(50, 60)]
    beyond = client.get("/counties/371321?q=养老&page=9")
    assert item_names(beyond) == item_names(second)


def test_superseded_version_has_banner_and_link_to_current(client, session):
    first = factories.catalog_with_items(YINAN, 2026)
    old_item_id = first.items[0].id
    second = factories.catalog_with_items(
        YINAN, 2026, items=[("公共服务", "养老服务", "居家养老", "新版养老事项", "", ["enterprise"], False)]
    )
    # The county page and the year page show the new version.
    current_page = text(client.get("/counties/371321/2026"))
    assert "新版养老事项" in current_page and "已被新版本替代" not in current_page
    assert "居家养老上门服务" not in text(client.get("/counties/371321"))
    # The old version stays reachable, with a banner pointing to the current one.
    old = client.get(f"/catalogs/{first.id}")
    assert old.status_code == 200
    html = text(old)
    assert "已被新版本替代" in html and "居家养老上门服务" in html
    assert 'href="/counties/371321/2026"' in html and "查看现行版本（第 2 版）" in html
    assert "已被替代" in title(old)
    # The version list links to the old version from the current page.
    assert f'href="/catalogs/{first.id}"' in current_page
    # Items of the old version too.
    old_item = text(client.get(f"/items/{old_item_id}"))
    assert "已被新版本替代" in old_item and 'href="/counties/371321/2026"' in old_item
    # The current version is also reachable by id, without the banner.
    assert "已被新版本替代" not in text(client.get(f"/catalogs/{second.id}"))


def test_earlier_years_stay_reachable(client):
    factories.catalog_with_items(YINAN, 2025, items=[("公共服务", "养老服务", "居家养老", "二〇二五年事项", "",
                                                     ["enterprise"], False)])
    factories.catalog_with_items(YINAN, 2026)
    newest = text(client.get("/counties/371321"))
    assert "居家养老上门服务" in newest and "二〇二五年事项" not in newest
    assert 'href="/counties/371321/2025"' in newest
    earlier = client.get("/counties/371321/2025")
    assert earlier.status_code == 200
    html = text(earlier)
    assert "二〇二五年事项" in html and "2025" in title(earlier)
    assert "查看现行的 2026 年目录" in html and 'href="/counties/371321/2026"' in html
    # Search on the earlier year's page searches that year's catalog.
    assert item_names(client.get("/counties/371321/2025?q=事项")) == ["二〇二五年事项"]


def test_item_page_shows_every_field(client, session):
    catalog = factories.catalog_with_items(YINAN, 2026, publish=False)
    item = next(i for i in catalog.items if i.name == "农村留守儿童关爱服务")
    from decimal import Decimal

    catalog_services.update_item(
        session, item,
        catalog_services.ItemData(
            name=item.name, service_content="开展学业辅导\n亲情陪伴", purchasing_department="乡镇民政办",
            undertaker_types=["social_organization", "mass_organization"],
            undertaker_notes={"mass_organization": "共青团所属社会组织"}, mass_org_first=True,
            notes="每季度评估一次", reference_budget=Decimal("120000.50"),
        ),
    )
    catalog_services.publish(session, catalog, None)
    session.commit()
    response = client.get(f"/items/{item.id}")
    assert response.status_code == 200
    html = text(response)
    assert title(response).startswith("农村留守儿童关爱服务 · 沂南县2026年")
    for expected in ("开展学业辅导\n亲情陪伴", "乡镇民政办", "共青团所属社会组织", "每季度评估一次", "120,000.50 元",
                     "群团组织优先承接", item.code, "公共服务", "儿童福利", "留守儿童", catalog.title):
        assert expected in html, expected
    assert 'href="/counties/371321/2026"' in html
    assert "已被新版本替代" not in html


def test_item_page_and_filter_show_undertaker_labels(client):
    catalog = factories.catalog_with_items(YINAN, 2026)
    item = next(i for i in catalog.items if i.name == "居家养老上门服务")
    html = text(client.get(f"/items/{item.id}"))
    assert "<li>社会组织" in html and "<li>企业" in html
    assert "social_organization" not in html
    assert '<option value="village_organization">村级组织</option>' in text(client.get("/counties/371321"))


def test_category_listing(client):
    factories.catalog_with_items(YINAN, 2026)
    response = client.get("/counties/371321?cat=A01")
    assert set(item_names(response)) == {"居家养老上门服务", "农村幸福院运营管理"}
    assert title(response).startswith("养老服务 · ")
    html = text(response)
    assert '<input type="hidden" name="cat" value="A01">' in html  # a search stays in the category
    assert 'href="/counties/371321">不限目录' in html
    narrowed = client.get("/counties/371321?cat=A01&q=幸福院")
    assert item_names(narrowed) == ["农村幸福院运营管理"]
    assert 'href="/counties/371321?q=%E5%B9%B8%E7%A6%8F%E9%99%A2">不限目录' in text(narrowed)
    unknown = client.get("/counties/371321?cat=Z99")
    assert unknown.status_code == 200 and "没有编号为 Z99 的目录" in text(unknown)
    assert "<details" in text(unknown)


def test_large_catalog_tree_links_to_category_lists(app, client, monkeypatch):
    """Above CATALOG_TREE_INLINE_ITEMS items: levels 1 and 2 with counts, each level-2
    category linking to the (paged) list of its items."""
    from procure.extensions import cache

    factories.catalog_with_items(YINAN, 2026)
    monkeypatch.setitem(app.config, "CATALOG_TREE_INLINE_ITEMS", 3)
    html = text(client.get("/counties/371321"))
    assert 'href="/items/' not in html and "level-3" not in html
    assert 'href="/counties/371321?cat=A01">查看本目录的 2 个服务事项' in html
    assert 'href="/counties/371321?cat=B01">查看本目录的 1 个服务事项' in html
    monkeypatch.setitem(app.config, "CATALOG_TREE_INLINE_ITEMS", 4)
    cache.clear()  # rendered pages are cached; the setting is not part of their key
    assert text(client.get("/counties/371321")).count('href="/items/') == 4
