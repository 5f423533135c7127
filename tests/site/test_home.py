"""Home page: counties grouped by city, from one query whatever the number of counties."""
from __future__ import annotations

import re

from procure.catalog.models import Catalog, CatalogStatus, Category, Item
from procure.extensions import db
from procure.geo import queries as geo_queries
from procure.timeutil import utcnow
from tests import factories
from tests.querycount import assert_constant_queries, page_queries


def publish_in_every_county(items_per_catalog: int = 1, year: int = 2026) -> int:
    """A published catalog in each county that has none (plain rows: fast)."""
    counties = geo_queries.counties(db.session)
    have = set(db.session.scalars(db.select(Catalog.county_id).where(Catalog.status == CatalogStatus.PUBLISHED)))
    now = utcnow()
    for county in counties:
        if county.id in have:
            continue
        catalog = Catalog(county_id=county.id, year=year, version=1, status=CatalogStatus.PUBLISHED,
                          title=f"{county.name}{year}年目录", published_at=now)
        l1 = Category(catalog=catalog, level=1, code="A", name="公共服务")
        l2 = Category(catalog=catalog, level=2, code="A01", name="养老服务", parent=l1)
        l3 = Category(catalog=catalog, level=3, code="A0101", name="居家养老", parent=l2)
        for i in range(items_per_catalog):
            db.session.add(Item(catalog=catalog, category=l3, code=f"A0101{i + 1:03d}", name=f"服务{i + 1}",
                                undertaker_types=["enterprise"]))
        db.session.add(catalog)
    db.session.commit()
    return len(counties)


def test_home_groups_counties_by_city(client):
    factories.catalog_with_items("371321", 2026)  # 临沂市 沂南县
    factories.catalog_with_items("370102", 2026)  # 济南市 历下区
    factories.catalog_with_items("370112", 2026)  # 济南市 历城区
    html = client.get("/").get_data(as_text=True)
    headings = re.findall(r'<h2 class="h5" id="city-(\d+)">([^<]+)</h2>', html)
    assert headings == [("3701", "济南市"), ("3713", "临沂市")]
    jinan = html.split('id="city-3701"', 1)[1].split("</section>", 1)[0]
    assert "历下区" in jinan and "历城区" in jinan and "沂南县" not in jinan
    assert "2026 年目录 · 4 个服务事项" in html


def test_home_shows_the_newest_year_of_each_county(client):
    factories.catalog_with_items("371321", 2025, items=factories.SAMPLE_ITEMS[:1])
    factories.catalog_with_items("371321", 2026)
    html = client.get("/").get_data(as_text=True)
    assert html.count('href="/counties/371321"') == 1
    assert "2026 年目录 · 4 个服务事项" in html and "2025 年目录" not in html


def test_home_costs_the_same_at_one_county_as_at_all_151(client):
    factories.catalog_with_items("371321", 2026)
    count = assert_constant_queries(client, "/", grow=lambda: publish_in_every_county(3))
    assert count <= 2, count  # the publication stamp and the grouped list
    html = client.get("/").get_data(as_text=True)
    assert html.count('class="list-group-item') == 151


def test_home_query_count_on_an_empty_site(client):
    assert len(page_queries(client, "/")) <= 2
