"""Who sees what: public pages, private documents, the review queue."""
import io

import pytest

from procure.organizations import services
from procure.organizations.models import OrgStatus
from tests import factories
from tests.conftest import csrf_token, login
from tests.organizations import files


@pytest.fixture
def org_with_document(session, app):
    from pathlib import Path

    admin = factories.user(email="admin@org.example.com")
    org = factories.organization(status="pending", admin_user=admin, phone="13912345678", email="secret@org.example.com")
    settings = services.UploadSettings(root=Path(app.instance_path) / "uploads" / "organizations", max_bytes=10**6)
    doc = services.add_document(session, org, services.Upload("registration_certificate", "证书.pdf", files.pdf()),
                                uploaded_by=admin, settings=settings)
    session.commit()
    return org, doc


def test_pending_organization_has_no_public_page(client, org_with_document):
    org, _doc = org_with_document
    assert client.get(f"/organizations/{org.id}").status_code == 404
    assert org.name not in client.get("/organizations").get_data(as_text=True)


@pytest.mark.parametrize("status", ["rejected", "needs_info"])
def test_unverified_organizations_are_not_public(client, status):
    org = factories.organization(status=status)
    assert client.get(f"/organizations/{org.id}").status_code == 404


def test_public_page_never_shows_contacts_or_documents(client, session, org_with_document):
    org, doc = org_with_document
    services.approve(session, org, officer=factories.officer())
    session.commit()
    html = client.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert org.name in html and "已认证" in html and "沂南县" in html and "社会服务机构" in html
    for secret in ("13912345678", "secret@org.example.com", "证书.pdf", "/organizations/documents/", org.address,
                   "张三", "李四"):
        assert secret not in html
    assert "合同与绩效评价" in html  # the section for later issues
    assert org.name in client.get("/organizations").get_data(as_text=True)


def test_document_download(client, session, org_with_document):
    org, doc = org_with_document
    url = f"/organizations/documents/{doc.id}"
    # Anonymous: sent to login.
    assert client.get(url).status_code == 302
    # Member of the organization.
    login(client, "admin@org.example.com", factories.PASSWORD)
    response = client.get(url)
    assert response.status_code == 200 and response.data == files.pdf()
    assert response.headers["Content-Type"] == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("who", "expected"),
    [("home_officer", 200), ("admin", 200), ("other_officer", 404), ("other_member", 404), ("plain_user", 404)],
)
def test_document_access_by_role(client, session, org_with_document, who, expected):
    org, doc = org_with_document
    email = f"{who}@example.com"
    if who == "home_officer":
        factories.officer(email=email)
    elif who == "admin":
        factories.admin(email=email)
    elif who == "other_officer":
        factories.officer("370102", email=email)
    elif who == "other_member":
        factories.organization(admin_user=factories.user(email=email))
    else:
        factories.user(email=email)
    login(client, email, factories.PASSWORD)
    assert client.get(f"/organizations/documents/{doc.id}").status_code == expected


def test_review_pages_of_another_county_are_hidden(client, session, org_with_document):
    org, _doc = org_with_document
    factories.officer("370102", email="jinan@example.com")
    login(client, "jinan@example.com", factories.PASSWORD)
    assert org.name not in client.get("/manage/organizations").get_data(as_text=True)
    assert client.get(f"/manage/organizations/{org.id}").status_code == 404
    token = csrf_token(client, "/manage/organizations")
    assert client.post(f"/manage/organizations/{org.id}/approve", data={"csrf_token": token}).status_code == 404
    session.refresh(org)
    assert org.status == OrgStatus.PENDING


def test_admin_sees_the_review_page_but_cannot_decide(client, session, org_with_document):
    org, _doc = org_with_document
    factories.admin(email="root@example.com")
    login(client, "root@example.com", factories.PASSWORD)
    html = client.get(f"/manage/organizations/{org.id}").get_data(as_text=True)
    assert org.name in html and "approve-form" not in html
    token = csrf_token(client, "/manage/organizations")
    assert client.post(f"/manage/organizations/{org.id}/approve", data={"csrf_token": token}).status_code == 403
    session.refresh(org)
    assert org.status == OrgStatus.PENDING


def test_members_and_anonymous_cannot_review(client, session, org_with_document):
    org, _doc = org_with_document
    assert client.get("/manage/organizations").status_code == 302  # anonymous: login
    login(client, "admin@org.example.com", factories.PASSWORD)
    assert client.get("/manage/organizations").status_code == 403
    assert client.get(f"/manage/organizations/{org.id}").status_code == 404


def test_plain_member_cannot_edit_or_invite(client, session, org_with_document):
    org, _doc = org_with_document
    factories.org_member(org, email="member@org.example.com")
    login(client, "member@org.example.com", factories.PASSWORD)
    assert client.get("/organizations/mine").status_code == 200
    assert client.get("/organizations/mine/edit").status_code == 403
    token = csrf_token(client, "/organizations/mine")
    response = client.post("/organizations/mine/members/invite", data={"csrf_token": token, "email": "x@example.com"})
    assert response.status_code == 403
    response = client.post(
        "/organizations/mine/documents",
        data={"csrf_token": token, "kind": "other", "file": (io.BytesIO(files.pdf()), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert len(org.documents) == 1


def test_dashboard_without_organization_is_404(client):
    factories.user(email="loner@example.com")
    login(client, "loner@example.com", factories.PASSWORD)
    assert client.get("/organizations/mine").status_code == 404


def test_only_a_verified_organization_may_bid(session):
    from datetime import date

    from procure.organizations.services import bid_eligibility

    officer = factories.officer()
    verified = factories.organization(status="verified", officer_user=officer)
    pending = factories.organization(status="pending")
    assert bid_eligibility(verified, today=date.today()) == (True, "")
    assert bid_eligibility(pending, today=date.today())[0] is False
    assert bid_eligibility(None, today=date.today())[0] is False
