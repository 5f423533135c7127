"""The platform admin appoints and disables county and township officers (an
invitation email sets the password) and sees the counties whose applications
nobody can review; an applicant is told when its county has no reviewer."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from procure.accounts import services
from procure.accounts.models import Role, User
from procure.errors import DomainError
from procure.geo import queries as geo_queries
from tests import factories
from tests.conftest import csrf_token, login

ADMIN = "admin@example.com"


@pytest.fixture
def admin_client(client):
    factories.admin(email=ADMIN)
    login(client, ADMIN, factories.PASSWORD)
    return client


def post(client, path, data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/account/officials"), **data})


def test_appointing_a_new_officer_sends_an_invitation_that_sets_the_password(admin_client, session, mailbox, app):
    response = post(admin_client, "/account/officials", {
        "email": "Fei@Example.com", "name": "费县审核员", "role": "county_officer", "division": "371325"})
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.email == "fei@example.com"))
    assert [(r.role, r.division.code) for r in user.roles] == [(Role.COUNTY_OFFICER, "371325")]
    message = mailbox.one(to="fei@example.com")
    assert "费县" in message.subject
    link = urlsplit(message.link(containing="/account/reset/")).path
    fresh = app.test_client()
    token = csrf_token(fresh, link)
    new_password = "Yinan-officer-2026-strong!"
    done = fresh.post(link, data={"csrf_token": token, "password": new_password, "confirm": new_password})
    assert done.status_code == 302
    login(fresh, "fei@example.com", new_password)
    assert fresh.get("/manage/organizations").status_code == 200


def test_an_existing_account_gets_the_role_and_a_notice(admin_client, session, mailbox):
    factories.officer("371321", email="two@example.com")
    post(admin_client, "/account/officials", {"email": "two@example.com", "role": "county_officer", "division": "371325"})
    user = session.scalar(select(User).where(User.email == "two@example.com"))
    session.refresh(user)
    assert sorted(r.division.code for r in user.roles) == ["371321", "371325"]
    assert "/account/login" in mailbox.one(to="two@example.com").link(containing="/account/login")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "x@example.com", "role": "county_officer", "division": "371321101"}, "县级行政区划代码"),
        ({"email": "x@example.com", "role": "township_officer", "division": "371321"}, "乡镇"),
        ({"email": "not-an-email", "role": "county_officer", "division": "371321"}, "邮箱"),
        ({"email": "x@example.com", "role": "platform_admin", "division": "371321"}, "role"),
    ],
)
def test_bad_appointments_are_refused_and_change_nothing(admin_client, session, mailbox, data, message):
    before = session.scalar(select(User.id).where(User.email == "x@example.com"))
    response = post(admin_client, "/account/officials", data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if message == "role":  # not an offered choice: the select shows its error
        assert 'id="role"' in html and "is-invalid" in html.split('id="role"')[0].rsplit("<select", 1)[-1] + html.split('id="role"')[1][:200]
    else:
        assert message in html
    assert session.scalar(select(User.id).where(User.email == "x@example.com")) == before is None
    assert mailbox.to("x@example.com") == []


def test_an_organization_member_cannot_be_appointed(session):
    admin = factories.admin(email=ADMIN)
    member = factories.user(email="member@example.com")
    factories.organization("371321", admin_user=member)
    county = geo_queries.county_by_code(session, "371321")
    with pytest.raises(DomainError, match="机构的成员"):
        services.appoint_official(session, email="member@example.com", name="", role=Role.COUNTY_OFFICER,
                                  division=county, appointed_by=admin)


def test_disabling_ends_the_officers_sessions_and_login(admin_client, session, app):
    officer = factories.officer("371321", email="o@example.com")
    other = app.test_client()
    login(other, "o@example.com", factories.PASSWORD)
    assert other.get("/manage/organizations").status_code == 200
    assert post(admin_client, f"/account/officials/{officer.id}/active", {"active": "0"}).status_code == 302
    session.refresh(officer)
    assert officer.active is False
    assert other.get("/manage/organizations").status_code == 302  # logged out
    assert services.authenticate(session, "o@example.com", factories.PASSWORD) is None
    post(admin_client, f"/account/officials/{officer.id}/active", {"active": "1"})
    session.refresh(officer)
    assert officer.active is True


def test_the_admin_cannot_disable_itself(session):
    admin = factories.admin(email=ADMIN)
    with pytest.raises(DomainError):
        services.set_active(session, admin, False, actor=admin)


def test_counties_with_waiting_applications_and_no_reviewer(admin_client, session):
    factories.officer("371321")
    factories.organization("371321", status="pending")  # reviewed by its officer
    factories.organization("371325", status="pending")  # 费县: nobody
    html = admin_client.get("/account/officials").get_data(as_text=True)
    waiting = html.split('data-testid="counties-without-reviewer"')[1].split("</ul>")[0]
    assert "费县" in waiting and "沂南县" not in waiting
    fei = factories.officer("371325", email="fei@example.com")
    services.set_active(session, fei, False, actor=factories.admin(email="a2@example.com"))
    session.commit()  # a disabled officer reviews nothing
    waiting = admin_client.get("/account/officials").get_data(as_text=True).split('data-testid="officials"')[0]
    assert "费县" in waiting
    services.set_active(session, fei, True, actor=factories.admin(email="a3@example.com"))
    session.commit()
    assert 'data-testid="counties-without-reviewer"' not in admin_client.get("/account/officials").get_data(as_text=True)


def test_the_applicant_is_told_when_its_county_has_no_reviewer(client, session, mailbox):
    from tests.organizations.conftest import post_registration, registration_form

    response = post_registration(client, registration_form(county="371325"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "费县目前还没有负责审核的工作人员" in page
    factories.officer("371321")
    response = post_registration(client, registration_form(account_email="b@example.com"))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "目前还没有负责审核的工作人员" not in page
