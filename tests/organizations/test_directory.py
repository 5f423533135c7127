"""The public directory: search, filters (county, type, verified state), paging in SQL."""
from __future__ import annotations

import re
from datetime import date

import pytest

from procure.organizations import services
from tests import factories


def names(response) -> list[str]:
    html = response.get_data(as_text=True)
    table = html.split('data-testid="directory"')[1].split("</table>")[0] if 'data-testid="directory"' in html else ""
    return re.findall(r'href="/organizations/\d+">([^<]+)</a>', table)


@pytest.fixture
def orgs(session):
    officer = factories.officer("371321")
    a = factories.organization("371321", name="沂南县阳光社工服务中心", org_type="social_service_agency")
    b = factories.organization("371321", name="沂南县绿源农业公司", org_type="enterprise")
    c = factories.organization("371302", name="兰山区阳光志愿者协会", org_type="social_group")
    pending = factories.organization("371321", status="pending", name="沂南县阳光待审机构")
    services.suspend(session, b, officer=officer, reason="违约", until=date(2027, 6, 30), today=date(2026, 11, 28))
    session.commit()
    return a, b, c, pending


def test_search_by_name_or_code_and_never_shows_unverified(client, orgs):
    a, b, c, pending = orgs
    assert sorted(names(client.get("/organizations?q=阳光"))) == sorted([a.name, c.name])
    assert names(client.get(f"/organizations?q={c.credit_code[-6:].lower()}")) == [c.name]
    assert pending.name not in client.get("/organizations?q=待审").get_data(as_text=True)


def test_filters(client, orgs):
    a, b, c, _pending = orgs
    assert sorted(names(client.get("/organizations?county=371321"))) == sorted([a.name, b.name])
    assert names(client.get("/organizations?type=social_group")) == [c.name]
    assert names(client.get("/organizations?status=suspended")) == [b.name]
    assert sorted(names(client.get("/organizations?status=verified"))) == sorted([a.name, c.name])
    assert names(client.get("/organizations?county=371321&q=阳光&status=verified")) == [a.name]


@pytest.mark.parametrize("query", ["county=999999", "type=martian", "status=pending", "page=abc", "q=%25", "q=_"])
def test_bad_values_are_ignored_or_match_nothing_never_500(client, orgs, query):
    response = client.get(f"/organizations?{query}")
    assert response.status_code == 200
    if query.startswith(("county", "type", "status")):
        assert "已忽略该筛选条件" in response.get_data(as_text=True)
    if query.startswith("q="):
        assert names(response) == []  # % and _ are literal characters


def test_paging(client, session, monkeypatch):
    from procure.organizations import views

    monkeypatch.setattr(views, "DIRECTORY_PAGE_SIZE", 2)
    for i in range(5):
        factories.organization("371321", name=f"机构{i}")
    first = client.get("/organizations?county=371321")
    assert names(first) == ["机构0", "机构1"] and "第 1 / 3 页" in first.get_data(as_text=True)
    assert 'href="/organizations?county=371321&amp;page=2"' in first.get_data(as_text=True)
    assert names(client.get("/organizations?county=371321&page=3")) == ["机构4"]
    assert names(client.get("/organizations?county=371321&page=99")) == ["机构4"]  # past the end: the last page
