"""Access to every catalog management endpoint: anonymous users are sent to the
login page, an officer of another county (and an admin, who is no county
officer) gets 404 for drafts and 403 for published or superseded versions, and
none of them changes anything. The route list must cover every ``manage_``
endpoint of the catalog blueprint: a new route fails this test until it is added."""
from __future__ import annotations

import pytest

from procure.extensions import db
from tests import factories
from tests.catalog.test_manage_edit import ITEM_FORM, category, item, snapshot
from tests.conftest import csrf_token, login

OWN = "371321"  # 沂南县
OTHER = "371302"  # 兰山区


def manage_endpoints(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("catalog.manage_")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def catalog_requests(catalog) -> list[tuple[str, str, str, dict]]:
    """(endpoint, method, path, form data) of every endpoint about one catalog."""
    leaf = category(catalog.id, "居家养老")
    target = item(catalog.id, "居家养老上门服务")
    base = f"/manage/catalogs/{catalog.id}"
    prefix = f"county{catalog.county_id}-"
    return [
        ("catalog.manage_catalog", "GET", base, {}),
        ("catalog.manage_add_category", "POST", f"{base}/categories", {"name": "新目录"}),
        ("catalog.manage_add_category", "POST", f"{base}/categories", {"name": "新子目录", "parent_id": str(leaf.parent_id)}),
        ("catalog.manage_category", "GET", f"{base}/categories/{leaf.id}", {}),
        ("catalog.manage_rename_category", "POST", f"{base}/categories/{leaf.id}/rename", {"name": "改名"}),
        ("catalog.manage_delete_category", "POST", f"{base}/categories/{leaf.id}/delete", {}),
        ("catalog.manage_add_item", "GET", f"{base}/categories/{leaf.id}/items/new", {}),
        ("catalog.manage_add_item", "POST", f"{base}/categories/{leaf.id}/items/new", ITEM_FORM),
        ("catalog.manage_edit_item", "GET", f"{base}/items/{target.id}/edit", {}),
        ("catalog.manage_edit_item", "POST", f"{base}/items/{target.id}/edit", {**ITEM_FORM, "name": "改"}),
        ("catalog.manage_delete_item", "POST", f"{base}/items/{target.id}/delete", {}),
        ("catalog.manage_publish", "GET", f"{base}/publish", {}),
        ("catalog.manage_publish", "POST", f"{base}/publish", {"confirm": "y"}),
        ("catalog.manage_delete_draft", "GET", f"{base}/delete", {}),
        ("catalog.manage_delete_draft", "POST", f"{base}/delete", {}),
        ("catalog.manage_import", "GET", f"{base}/import", {}),
        ("catalog.manage_import", "POST", f"{base}/import", {}),
        ("catalog.manage_export", "GET", f"{base}/export", {}),
        ("catalog.manage_changes", "GET", f"{base}/changes", {}),
        ("catalog.manage_create_draft", "POST", f"/manage/counties/{catalog.county.code}/catalogs",
         {prefix + "year": "2030", prefix + "copy_from": ""}),
    ]


INDEX = ("catalog.manage_index", "GET", "/manage/catalogs", {})


@pytest.fixture
def catalogs(session):
    """A superseded (v1), a published (v2) and a draft (v3) version of 沂南县's 2026 catalog."""
    superseded = factories.catalog_with_items(OWN, 2026)
    db.session.expire_all()
    published = factories.catalog_with_items(OWN, 2026)
    draft = factories.catalog_with_items(OWN, 2026, publish=False)
    db.session.expire_all()
    return {"superseded": superseded, "published": published, "draft": draft}


def send(client, method, path, data, token):
    if method == "GET":
        return client.get(path)
    return client.post(path, data={"csrf_token": token, **data})


def test_route_list_covers_every_management_endpoint(app, catalogs):
    covered = {(e, m) for e, m, _p, _d in catalog_requests(catalogs["draft"]) + [INDEX]}
    assert covered == manage_endpoints(app)


def test_anonymous_users_are_sent_to_login_everywhere(client, catalogs):
    token = csrf_token(client, "/account/login")
    before = snapshot()
    for catalog in catalogs.values():
        for endpoint, method, path, data in catalog_requests(catalog) + [INDEX]:
            response = send(client, method, path, data, token)
            assert response.status_code == 302, (endpoint, method, path)
            assert response.headers["Location"].startswith("/account/login"), (endpoint, method, path)
    assert snapshot() == before


@pytest.mark.parametrize("who", ["other_officer", "admin"])
def test_outsiders_get_404_for_drafts_and_403_for_published_versions(client, catalogs, who):
    if who == "other_officer":
        user = factories.officer(OTHER, email="lanshan@example.com")
        factories.catalog_with_items(OTHER, 2026, publish=False)  # their own county has work too
    else:
        user = factories.admin(email="admin@example.com")
    login(client, user.email, factories.PASSWORD)
    token = csrf_token(client, "/")
    before = snapshot()
    for status, catalog in catalogs.items():
        expected = 404 if status == "draft" else 403
        for endpoint, method, path, data in catalog_requests(catalog):
            response = send(client, method, path, data, token)
            if endpoint == "catalog.manage_create_draft":
                assert response.status_code == 403, (endpoint, path)  # the county itself is public
            else:
                assert response.status_code == expected, (status, endpoint, method, path)
            assert catalog.title not in response.get_data(as_text=True)
    assert snapshot() == before

    index = client.get("/manage/catalogs")
    if who == "admin":
        assert index.status_code == 403
    else:
        html = index.get_data(as_text=True)
        assert index.status_code == 200 and "兰山区" in html
        assert "沂南县" not in html
        for catalog in catalogs.values():
            assert f"/manage/catalogs/{catalog.id}\"" not in html


def test_own_officer_reaches_every_page(client, catalogs):
    """The control group: the same URLs work for the county's own officer, so the
    404s and 403s above come from the access rules, not from wrong URLs."""
    factories.officer(OWN, email="yinan@example.com")
    login(client, "yinan@example.com", factories.PASSWORD)
    for status, catalog in catalogs.items():
        for endpoint, method, path, _data in catalog_requests(catalog) + [INDEX]:
            if method != "GET":
                continue
            response = client.get(path)
            if status != "draft" and endpoint in {"catalog.manage_add_item", "catalog.manage_edit_item",
                                                   "catalog.manage_category",
                                                   "catalog.manage_publish", "catalog.manage_delete_draft",
                                                   "catalog.manage_import"}:
                assert response.status_code == 302, (status, endpoint)  # read-only: sent back with a message
            else:
                assert response.status_code == 200, (status, endpoint, path, response.headers.get("Location"))
    assert client.get("/manage/catalogs/999999").status_code == 404
