"""The officer's side of tenders: a township officer drafts tenders for their own
township only and the county publishes them (domain.md: "a township officer, as a
draft for their own township that the county publishes"); the officer's list is paged."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from procure.extensions import db
from procure.geo import queries as geo_queries
from procure.tenders.models import Tender, TenderStatus
from procure.timeutil import localtime, utcnow
from tests import factories
from tests.conftest import csrf_token, login
from tests.tenders import builders as b

OWN = "371321101"  # 岸堤镇
OTHER = "371321102"  # 孙祖镇, same county


def _local(value):
    return localtime(value).strftime("%Y-%m-%dT%H:%M")


def _form(token, township_id, item, title="岸堤镇居家养老服务"):
    now = utcnow()
    return {
        "csrf_token": token, "township_id": str(township_id), "title": title, "description": "说明",
        "budget": "200000", "max_price": "180000", "service_start": "2027-01-01", "service_end": "2027-12-31",
        "service_place": "岸堤镇", "method": "open_tender", "undertaker_types": list(item.undertaker_types),
        "enquiry_deadline": _local(now + timedelta(days=10)), "bid_deadline": _local(now + timedelta(days=21)),
        "evaluation_method": "comprehensive", "price_weight": "20", "criteria": "服务方案,50\n团队,30",
    }


def _township(code):
    return geo_queries.by_code(db.session, code)


def test_a_township_officer_drafts_only_for_their_own_township(client, session):
    item = b.item()
    officer = factories.township_officer(OWN)
    login(client, officer.email, factories.PASSWORD)
    page = client.get(f"/manage/tenders/new/{item.id}").get_data(as_text=True)
    assert _township(OWN).name in page and _township(OTHER).name not in page  # only their township offered
    token = csrf_token(client, f"/manage/tenders/new/{item.id}")

    refused = client.post(f"/manage/tenders/new/{item.id}", data=_form(token, _township(OTHER).id, item))
    assert refused.status_code == 200  # the form again, with the field's message
    assert session.scalar(select(func.count(Tender.id))) == 0

    done = client.post(f"/manage/tenders/new/{item.id}", data=_form(token, _township(OWN).id, item))
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    tender = session.scalars(select(Tender)).one()
    assert tender.status == TenderStatus.DRAFT and tender.township_id == _township(OWN).id

    # Nor can the draft be moved to another township by editing it.
    moved = client.post(f"/manage/tenders/{tender.id}/edit", data=_form(token, _township(OTHER).id, item))
    assert moved.status_code == 200
    session.expire_all()
    assert session.get(Tender, tender.id).township_id == _township(OWN).id


def test_a_township_draft_is_published_by_the_county_not_by_the_township(client, session):
    item = b.item()
    township_officer = factories.township_officer(OWN)
    county_officer = factories.officer()
    login(client, township_officer.email, factories.PASSWORD)
    token = csrf_token(client, f"/manage/tenders/new/{item.id}")
    assert client.post(f"/manage/tenders/new/{item.id}", data=_form(token, _township(OWN).id, item)).status_code == 302
    tender = session.scalars(select(Tender)).one()

    html = client.get(f"/manage/tenders/{tender.id}").get_data(as_text=True)
    assert f"/manage/tenders/{tender.id}/publish" not in html  # no publish button for the township
    assert client.post(f"/manage/tenders/{tender.id}/publish", data={"csrf_token": token}).status_code == 403
    session.expire_all()
    tender = session.get(Tender, tender.id)
    assert tender.status == TenderStatus.DRAFT and tender.public_number is None
    assert client.get(f"/tenders/{tender.id}").status_code == 404  # a draft has no public notice
    client.post("/account/logout", data={"csrf_token": token})

    # The county officer sees the township's draft among the county's and publishes it.
    login(client, county_officer.email, factories.PASSWORD)
    assert "岸堤镇居家养老服务" in client.get("/manage/tenders").get_data(as_text=True)
    token = csrf_token(client, f"/manage/tenders/{tender.id}")
    assert client.post(f"/manage/tenders/{tender.id}/publish", data={"csrf_token": token}).status_code == 302
    session.expire_all()
    tender = session.get(Tender, tender.id)
    assert tender.status == TenderStatus.TENDERING and tender.public_number == "371321-2026-0001"
    client.post("/account/logout", data={"csrf_token": token})

    # Published, it is the county's: the township officer no longer edits it.
    login(client, township_officer.email, factories.PASSWORD)
    assert client.get(f"/manage/tenders/{tender.id}/edit").status_code == 404
    assert client.get(f"/tenders/{tender.id}").status_code == 200


def test_a_township_officer_does_not_see_another_townships_draft(client, session):
    other_draft = b.draft(township_id=_township(OTHER).id)
    officer = factories.township_officer(OWN)
    login(client, officer.email, factories.PASSWORD)
    assert client.get(f"/manage/tenders/{other_draft.id}").status_code == 404
    assert client.get(f"/manage/tenders/{other_draft.id}/edit").status_code == 404
    assert other_draft.title not in client.get("/manage/tenders").get_data(as_text=True)


def test_the_officers_tender_list_is_paged_and_the_item_picker_bounded(app, client, session):
    from procure.tenders import queries as tender_queries
    from tests.querycount import assert_constant_queries

    officer = factories.officer()
    login(client, officer.email, factories.PASSWORD)
    first = b.draft(title="第一个草稿")
    app.config["WORK_LIST_PAGE_SIZE"] = 2
    try:
        def grow():
            for i in range(4):
                b.draft(title=f"草稿{i}")
            factories.catalog_with_items("371321", items=[
                ("公共服务", "养老服务", "居家养老", f"助餐服务{i:03d}", "内容", ["social_organization"], False)
                for i in range(tender_queries.ITEM_PICKER_LIMIT + 10)])

        assert_constant_queries(client, "/manage/tenders", grow)
        seen = []
        for number in (1, 2, 3):
            html = client.get(f"/manage/tenders?page={number}").get_data(as_text=True)
            seen += [t for t in ["第一个草稿"] + [f"草稿{i}" for i in range(4)] if f">{t}<" in html]
        assert sorted(seen) == sorted(["第一个草稿"] + [f"草稿{i}" for i in range(4)])  # each once, none lost
        assert "第 3 / 3 页" in client.get("/manage/tenders?page=99").get_data(as_text=True)
    finally:
        app.config["WORK_LIST_PAGE_SIZE"] = 50

    html = client.get("/manage/tenders").get_data(as_text=True)
    items = html.split('data-testid="items"', 1)[1].split("</ul>", 1)[0]
    assert items.count("<li>") == tender_queries.ITEM_PICKER_LIMIT
    assert html.count('href="/manage/tenders/new/') == tender_queries.ITEM_PICKER_LIMIT  # and nowhere else
    assert f"共 {tender_queries.ITEM_PICKER_LIMIT + 10} 项" in html
    found = client.get("/manage/tenders?q=助餐服务007").get_data(as_text=True)
    items = found.split('data-testid="items"', 1)[1].split("</ul>", 1)[0]
    assert items.count("<li>") == 1 and "助餐服务007" in items
    assert "没有找到符合条件的事项" in client.get("/manage/tenders?q=不存在的服务%25").get_data(as_text=True)
