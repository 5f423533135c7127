"""A catalog applies to its year: the current catalog of a county is the published
one of the current year (in the configured timezone); a later year's published
catalog is the next year's and replaces nothing before its year."""
from __future__ import annotations

import re

import pytest
from procure.catalog import queries, years
from procure.extensions import db
from tests import factories
from tests.conftest import login

YINAN = "371321"
OFFICER = "officer@yinan.example.com"
ONLY_2026 = [("公共服务", "养老服务", "居家养老", "二〇二六年事项", "", ["enterprise"], False)]
ONLY_2028 = [("公共服务", "养老服务", "居家养老", "二〇二八年事项", "", ["enterprise"], False)]


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.fixture
def two_years(session):
    """2026 published, then (in November 2026) 2028 published."""
    this = factories.catalog_with_items(YINAN, 2026, items=ONLY_2026)
    later = factories.catalog_with_items(YINAN, 2028, items=ONLY_2028)
    return this, later


def test_period_of_a_catalog(session, two_years):
    this, later = two_years
    assert years.period(this, 2026) == years.CURRENT
    assert years.period(later, 2026) == years.NEXT
    assert years.period(this, 2027) == years.PAST
    assert years.period(later, 2028) == years.CURRENT


def test_county_catalog_is_the_current_years_not_the_newest(session, two_years):
    this, later = two_years
    county_id = this.county_id
    assert queries.county_catalog(db.session, county_id, 2026).id == this.id
    assert queries.next_catalog(db.session, county_id, 2026).id == later.id
    assert queries.county_catalog(db.session, county_id, 2027).id == this.id  # no 2027: the newest earlier
    assert queries.county_catalog(db.session, county_id, 2028).id == later.id
    assert queries.county_catalog(db.session, county_id, 2025).id == this.id  # nothing earlier: the nearest later


def test_a_2028_catalog_published_in_2026_does_not_replace_2026(client, two_years):
    county = page(client, "/counties/371321")
    assert "二〇二六年事项" in county and "二〇二八年事项" not in county
    assert "下一年度目录（自 2028 年 1 月 1 日起施行）" in county  # announced, with a link
    assert 'href="/counties/371321/2028"' in county
    home = page(client, "/")
    assert "2026 年目录" in home and "2028 年目录" not in home
    later = page(client, "/counties/371321/2028")
    assert "二〇二八年事项" in later and "下一年度目录（自 2028 年 1 月 1 日起施行）" in later
    assert "查看现行的 2026 年目录" in later
    later_item = two_years[1].items[0].id
    assert "（下一年度目录（自 2028 年 1 月 1 日起施行））" in page(client, f"/items/{later_item}")
    assert "（现行）" in page(client, f"/items/{two_years[0].items[0].id}")


def test_the_change_at_new_year_is_computed_in_the_configured_timezone(client, two_years, catalog_clock):
    # Nothing published for 2027: through 2027 the 2026 catalog is still shown.
    catalog_clock("2027-12-31T23:59:00+08:00")
    assert "二〇二六年事项" in page(client, "/counties/371321")
    # 2028-01-01 00:00:30 in Beijing is still 31 December in UTC: the configured zone decides.
    catalog_clock("2027-12-31T16:00:30+00:00")
    county = page(client, "/counties/371321")
    assert "二〇二八年事项" in county and "二〇二六年事项" not in county
    assert "下一年度目录" not in county
    assert "2028 年目录" in page(client, "/")
    assert "（现行）" in page(client, f"/items/{two_years[1].items[0].id}")
    assert "（往年目录）" in page(client, f"/items/{two_years[0].items[0].id}")


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2026, "发布后，这将是本县 2026 年的现行目录。"),
        (2028, "发布后，这将是本县的下一年度目录（自 2028 年 1 月 1 日起施行）；在此之前，现行目录不变。"),
        (2025, "这是往年（2025 年）的目录：发布后供查阅，不会成为现行目录。"),
    ],
)
def test_the_publish_page_says_which_it_will_be(client, session, year, expected):
    factories.officer(YINAN, email=OFFICER)
    login(client, OFFICER, factories.PASSWORD)
    draft = factories.catalog_with_items(YINAN, year, publish=False)
    assert expected in page(client, f"/manage/catalogs/{draft.id}/publish")


def test_the_new_draft_form_defaults_to_the_current_year(client, session, catalog_clock):
    factories.officer(YINAN, email=OFFICER)
    login(client, OFFICER, factories.PASSWORD)
    catalog_clock("2027-01-01T00:10:00+08:00")
    assert 'value="2027"' in page(client, "/manage/catalogs")
