"""Public catalog pages at province scale: constant queries, bounded pages, caching
that never serves a stale publication."""
from __future__ import annotations

import re

import pytest

from procure.catalog.models import Catalog, CatalogStatus, Category, Item
from procure.extensions import cache, db
from procure.geo import queries as geo_queries
from procure.timeutil import utcnow
from tests import factories
from tests.conftest import csrf_token, login
from tests.querycount import page_queries

YINAN = "371321"


def big_catalog(county_code: str = YINAN, year: int = 2026, items: int = 2000, *, status=CatalogStatus.PUBLISHED,
                version: int | None = None, name: str = "事项") -> Catalog:
    """A catalog of ``items`` items (5 level-1, 20 level-2 each, one level-3 per item),
    inserted as plain rows (fast); a published one supersedes the year's previous one."""
    county = geo_queries.county_by_code(db.session, county_code)
    now = utcnow()
    if status == CatalogStatus.PUBLISHED:
        for old in db.session.scalars(db.select(Catalog).where(
                Catalog.county_id == county.id, Catalog.year == year, Catalog.status == CatalogStatus.PUBLISHED)):
            old.status, old.superseded_at = CatalogStatus.SUPERSEDED, now
    if version is None:
        version = 1 + (db.session.scalar(db.select(db.func.max(Catalog.version)).where(
            Catalog.county_id == county.id, Catalog.year == year)) or 0)
    catalog = Catalog(county_id=county.id, year=year, version=version, status=status, title=f"{county.name}{year}年目录",
                      published_at=now if status == CatalogStatus.PUBLISHED else None)
    db.session.add(catalog)
    level2: list[Category] = []
    for a in range(5):
        l1 = Category(catalog=catalog, level=1, code=chr(65 + a), name=f"一级{a}")
        db.session.add(l1)
        for b in range(20):
            level2.append(Category(catalog=catalog, level=2, code=f"{chr(65 + a)}{b + 1:02d}", name=f"二级{a}-{b}",
                                   parent=l1))
            db.session.add(level2[-1])
    for i in range(items):
        l2 = level2[i * len(level2) // items]
        l3 = Category(catalog=catalog, level=3, code=f"{l2.code}{i:04d}", name=f"三级{i}", parent=l2)
        db.session.add(l3)
        db.session.add(Item(catalog=catalog, category=l3, code=f"{l3.code}01", name=f"{name}{i:05d}",
                            service_content="为老人提供养老照护服务" if i % 7 == 0 else "开展走访",
                            undertaker_types=["enterprise"], mass_org_first=i % 11 == 0))
    db.session.commit()
    return catalog


def same_queries(client, small_path: str, large_path: str, *, status: int = 200) -> int:
    small, large = page_queries(client, small_path, status=status), page_queries(client, large_path, status=status)
    assert len(small) == len(large), f"{small_path}: {len(small)} queries, {large_path}: {len(large)}\n{small}\n--\n{large}"
    return len(small)


def test_county_pages_cost_the_same_at_40_and_2000_items(client):
    small = big_catalog(YINAN, 2026, 40)
    small_item = small.items[0].id
    small_id = small.id
    paths = ["/counties/371321", "/counties/371321/2026", f"/catalogs/{small_id}", f"/items/{small_item}",
             "/counties/371321?q=养老", "/counties/371321?q=养老照护服务", "/counties/371321?cat=A01",
             "/counties/371321?type=enterprise&mass=1", "/counties/371321?cat=A&q=事项&page=2"]
    counts = {path: len(page_queries(client, path)) for path in paths}
    large = big_catalog(YINAN, 2026, 2000)  # the new published version of the year
    large_paths = [p.replace(f"/catalogs/{small_id}", f"/catalogs/{large.id}")
                   .replace(f"/items/{small_item}", f"/items/{large.items[-1].id}") for p in paths]
    for path, large_path in zip(paths, large_paths):
        assert len(page_queries(client, large_path)) == counts[path], (path, counts[path])
    assert max(counts.values()) <= 8, counts


def test_superseded_version_page_costs_the_same_at_any_size(client):
    old_small = big_catalog(YINAN, 2025, 40)
    big_catalog(YINAN, 2025, 3)
    old_large = big_catalog("370102", 2025, 2000)
    big_catalog("370102", 2025, 3)
    same_queries(client, f"/catalogs/{old_small.id}", f"/catalogs/{old_large.id}")
    same_queries(client, f"/items/{old_small.items[0].id}", f"/items/{old_large.items[-1].id}")


def test_a_large_catalog_page_is_bounded(client, app):
    big_catalog(YINAN, 2026, 5000)
    response = client.get("/counties/371321")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "共 5000 个服务事项" in html
    assert 'href="/items/' not in html  # levels 1 and 2 with counts, no items
    assert html.count('class="category level-1"') == 5 and html.count('class="category level-2"') == 100
    assert "level-3" not in html
    assert 'href="/counties/371321?cat=A01">查看本目录的 50 个服务事项' in html
    assert len(response.data) < 150_000, len(response.data)
    listing = client.get("/counties/371321?cat=A01").get_data(as_text=True)
    links = re.findall(r'href="/items/(\d+)"', listing)
    assert len(links) == app.config["CATALOG_PAGE_SIZE"] == 50 and "找到 50 个服务事项" in listing
    search = client.get("/counties/371321?q=养老照护").get_data(as_text=True)
    assert "找到 715 个服务事项" in search  # every 7th of 5,000
    assert len(re.findall(r'href="/items/\d+"', search)) == 50 and "第 1 / 15 页" in search


def test_results_are_in_code_order_across_pages(client):
    big_catalog(YINAN, 2026, 300)
    names = []
    for page in range(1, 7):
        html = client.get(f"/counties/371321?q=事项&page={page}").get_data(as_text=True)
        names += re.findall(r'<a class="fw-semibold" href="/items/\d+">([^<]+)</a>', html)
    assert names == [f"事项{i:05d}" for i in range(300)]


def test_home_and_directory_links_stay_constant_with_151_counties(client):
    from tests.site.test_home import publish_in_every_county

    big_catalog(YINAN, 2026, 3)
    small = len(page_queries(client, "/"))
    publish_in_every_county(2)
    assert len(page_queries(client, "/")) == small


def test_catalog_editor_costs_the_same_at_40_and_2000_items(client):
    officer = factories.officer(email="editor@example.com")
    login(client, officer.email, factories.PASSWORD)
    small = big_catalog(YINAN, 2027, 40, status=CatalogStatus.DRAFT)
    large = big_catalog(YINAN, 2028, 2000, status=CatalogStatus.DRAFT)
    same_queries(client, f"/manage/catalogs/{small.id}", f"/manage/catalogs/{large.id}")
    small_l2 = db.session.scalar(db.select(Category.id).where(Category.catalog_id == small.id, Category.code == "A01"))
    large_l2 = db.session.scalar(db.select(Category.id).where(Category.catalog_id == large.id, Category.code == "A01"))
    same_queries(client, f"/manage/catalogs/{small.id}?cat={small_l2}", f"/manage/catalogs/{large.id}?cat={large_l2}")
    html = client.get(f"/manage/catalogs/{large.id}").get_data(as_text=True)
    assert "展开查看（20 个服务事项）" in html and "事项00001" not in html
    small_leaf = db.session.scalar(db.select(Category.id).where(Category.catalog_id == small.id, Category.level == 3))
    large_leaf = db.session.scalar(db.select(Category.id).where(Category.catalog_id == large.id, Category.level == 3))
    same_queries(client, f"/manage/catalogs/{small.id}/categories/{small_leaf}",
                 f"/manage/catalogs/{large.id}/categories/{large_leaf}")


def test_catalog_editor_repeats_links_not_forms(client):
    """Each category and item links to its own page (rename, add, delete; edit,
    delete) instead of carrying a form per action: the page stays small."""
    officer = factories.officer(email="editor@example.com")
    login(client, officer.email, factories.PASSWORD)
    draft = big_catalog(YINAN, 2027, 200, status=CatalogStatus.DRAFT)
    html = client.get(f"/manage/catalogs/{draft.id}").get_data(as_text=True)
    assert html.count("<form") == 4  # adding a level-1 category; the site bar's logout, text size, language
    assert html.count('href="/manage/catalogs/%d/items/' % draft.id) == html.count('/edit"') == 200
    assert html.count('/items/new"') == 200  # adding to each level-3 category
    assert len(re.findall(r'href="/manage/catalogs/%d/categories/\d+"' % draft.id, html)) == 5 + 100 + 200
    assert len(html) < 200 * 2000, len(html)  # with a form per action it was over 4,000 bytes an item


def test_officer_dashboard_costs_the_same_for_one_county_and_several(client, session):
    from procure.accounts import services as account_services
    from procure.accounts.models import Role

    officer = factories.officer(email="dashboard@example.com")
    login(client, officer.email, factories.PASSWORD)
    factories.catalog_with_items(YINAN, 2026, publish=False)
    small = page_queries(client, "/manage/catalogs")
    for code in ("370102", "370112", "370113"):
        account_services.grant_role(session, session.merge(officer), Role.COUNTY_OFFICER, factories.county(code))
        factories.catalog_with_items(code, 2025)
        factories.catalog_with_items(code, 2026)
        factories.catalog_with_items(code, 2026, publish=False)
    session.commit()
    large = page_queries(client, "/manage/catalogs")
    assert len(small) == len(large) <= 4, f"{small}\n--\n{large}"
    html = client.get("/manage/catalogs").get_data(as_text=True)
    assert all(name in html for name in ("沂南县", "历下区", "历城区", "长清区"))


def test_review_queue_costs_the_same_at_one_and_many_applications(client, session):
    factories.officer(email="queue@example.com")
    login(client, "queue@example.com", factories.PASSWORD)
    factories.organization(status="pending", name="沂南县第一社工服务中心")
    small = page_queries(client, "/manage/organizations")
    for i in range(12):
        factories.organization(status=("pending", "needs_info")[i % 2], name=f"沂南县社工服务中心{i:02d}")
    large = page_queries(client, "/manage/organizations")
    assert len(small) == len(large), f"{small}\n--\n{large}"


def test_anonymous_catalog_pages_are_cacheable_and_versions_longer(client, app):
    catalog = factories.catalog_with_items(YINAN, 2026)
    item_id = catalog.items[0].id
    # The current catalog is a list that changes: revalidated at every view (no
    # visitor sees it older than the last publication); a published version, long.
    version = f"public, max-age={app.config['HTTP_MAX_AGE_VERSION']}"
    for path, cache_control in [("/counties/371321", "public, max-age=0, must-revalidate"),
                                (f"/catalogs/{catalog.id}", version), (f"/items/{item_id}", version)]:
        for _ in range(3):
            response = client.get(path)
        assert response.headers["Cache-Control"] == cache_control, path
        assert client.get(path, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304, path
    assert app.config["HTTP_MAX_AGE_VERSION"] > app.config["HTTP_MAX_AGE_LIST"]


def test_officers_see_catalog_pages_uncached(client):
    factories.catalog_with_items(YINAN, 2026)
    client.get("/counties/371321")
    officer = factories.officer(email="fresh@example.com")
    login(client, officer.email, factories.PASSWORD)
    response = client.get("/counties/371321")
    assert "fresh@example.com" in response.get_data(as_text=True)
    assert "public" not in response.headers.get("Cache-Control", "") and "ETag" not in response.headers


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_new_publication_is_on_every_page_at_once(app, client, session, language):
    from procure.catalog import services as catalog_services

    if language == "en":
        client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    first = factories.catalog_with_items(YINAN, 2026)
    old_item = first.items[0].id
    pages = ["/", "/counties/371321", "/counties/371321/2026", f"/catalogs/{first.id}", f"/items/{old_item}",
             "/counties/371321?q=养老", "/counties/371321?cat=A01"]
    before = {path: client.get(path).get_data(as_text=True) for path in pages}
    assert all(client.get(path).status_code == 200 for path in pages)  # now served from the cache
    superseded_banner = "Superseded by a newer version" if language == "en" else "已被新版本替代"
    assert all(superseded_banner not in html for html in before.values())

    draft = catalog_services.create_draft(session, county=first.county, year=2026, user=None, copy_from=first)
    category = next(c for c in draft.categories if c.name == "居家养老")
    catalog_services.add_item(session, category, catalog_services.ItemData(
        name="新增养老助餐服务", service_content="助餐", purchasing_department="乡镇民政办",
        undertaker_types=["enterprise"]))
    catalog_services.publish(session, draft, None)
    session.commit()

    after = {path: client.get(path).get_data(as_text=True) for path in pages}
    lang = 'lang="en"' if language == "en" else 'lang="zh-CN"'
    assert all(lang in html for html in after.values())
    assert ("5 service items" if language == "en" else "5 个服务事项") in after["/"]
    for path in ("/counties/371321", "/counties/371321/2026", "/counties/371321?q=养老", "/counties/371321?cat=A01"):
        assert "新增养老助餐服务" in after[path], path
        assert "新增养老助餐服务" not in before[path], path
    for path in (f"/catalogs/{first.id}", f"/items/{old_item}"):
        assert superseded_banner in after[path], path
        assert f'href="/counties/371321/2026"' in after[path], path


def test_the_page_cache_is_keyed_by_language(client):
    factories.catalog_with_items(YINAN, 2026)
    assert 'lang="zh-CN"' in client.get("/counties/371321").get_data(as_text=True)
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    assert 'lang="en"' in client.get("/counties/371321").get_data(as_text=True)
    cache.clear()
