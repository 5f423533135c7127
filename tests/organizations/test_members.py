"""Members and invitations: signed, expiring, single-use links sent by email."""
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from procure.accounts.models import Role, User
from procure.organizations import services
from procure.organizations.models import Invitation
from procure.timeutil import utcnow
from tests import factories
from tests.conftest import csrf_token, login


@pytest.fixture
def org(session):
    admin = factories.user(email="chief@org.example.com")
    return factories.organization(status="verified", admin_user=admin, name="沂南县青年志愿者协会",
                                  org_type="social_group")


def invite(client, email, as_admin=False):
    data = {"csrf_token": csrf_token(client, "/organizations/mine/members"), "email": email}
    if as_admin:
        data["as_admin"] = "y"
    return client.post("/organizations/mine/members/invite", data=data, follow_redirects=True)


def invitation_path(mailbox, email):
    message = mailbox.one(to=email)
    assert "邀请您加入" in message.subject
    return urlsplit(message.link(containing="/organizations/invitations/")).path


def logout(client):
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})


def test_invite_new_person_accept_and_single_use(client, session, org, mailbox):
    login(client, "chief@org.example.com", factories.PASSWORD)
    assert "邀请已发送" in invite(client, "Colleague@Example.com").get_data(as_text=True)
    invitation = session.scalar(select(Invitation))
    path = invitation_path(mailbox, "colleague@example.com")
    token = path.rsplit("/", 1)[1]
    assert invitation.token_hash != token and len(invitation.token_hash) == 64  # only the hash is stored
    logout(client)

    page = client.get(path).get_data(as_text=True)
    assert "沂南县青年志愿者协会" in page and "设置您的姓名和密码" in page
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "name": "小王",
                                       "password": factories.PASSWORD, "password2": factories.PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/organizations/mine")
    user = session.scalar(select(User).where(User.email == "colleague@example.com"))
    assert user.email_confirmed_at is not None  # the link proved the address
    assert [(r.role, r.organization_id) for r in user.roles] == [(Role.ORG_MEMBER, org.id)]
    assert client.get("/organizations/mine").status_code == 200

    # The same link again: refused with a clear message, nothing changes.
    logout(client)
    response = client.get(path)
    assert response.status_code == 400 and "只能使用一次" in response.get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_token(client, "/account/login"), "name": "x",
                                       "password": factories.PASSWORD, "password2": factories.PASSWORD})
    assert response.status_code == 400
    assert len(session.scalars(select(User).where(User.email == "colleague@example.com")).all()) == 1


def test_expired_invitation_is_refused(client, session, org, mailbox):
    login(client, "chief@org.example.com", factories.PASSWORD)
    invite(client, "late@example.com")
    path = invitation_path(mailbox, "late@example.com")
    invitation = session.scalar(select(Invitation))
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    logout(client)
    response = client.get(path)
    assert response.status_code == 400 and "邀请链接已过期" in response.get_data(as_text=True)
    assert session.scalar(select(User).where(User.email == "late@example.com")) is None


def test_tampered_invitation_link_is_refused(client, org, mailbox):
    login(client, "chief@org.example.com", factories.PASSWORD)
    invite(client, "t@example.com")
    path = invitation_path(mailbox, "t@example.com")
    response = client.get(path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb"))
    assert response.status_code == 400 and "链接无效" in response.get_data(as_text=True)


def test_reinviting_a_pending_address_sends_no_second_email_and_keeps_the_link(client, session, org, mailbox):
    login(client, "chief@org.example.com", factories.PASSWORD)
    invite(client, "twice@example.com")
    first = invitation_path(mailbox, "twice@example.com")
    mailbox.clear()
    page = invite(client, "twice@example.com").get_data(as_text=True)
    assert "没有再次发送邮件" in page
    assert mailbox.to("twice@example.com") == []
    assert len(session.scalars(select(Invitation)).all()) == 1
    logout(client)
    assert client.get(first).status_code == 200


def test_revoking_then_reinviting_sends_a_new_link_and_kills_the_old(client, session, org, mailbox):
    login(client, "chief@org.example.com", factories.PASSWORD)
    invite(client, "twice@example.com")
    first = invitation_path(mailbox, "twice@example.com")
    mailbox.clear()
    invitation = session.scalar(select(Invitation))
    client.post(f"/organizations/mine/invitations/{invitation.id}/revoke",
                data={"csrf_token": csrf_token(client, "/organizations/mine/members")})
    invite(client, "twice@example.com")
    second = invitation_path(mailbox, "twice@example.com")
    logout(client)
    assert "已被撤销或已被新的邀请取代" in client.get(first).get_data(as_text=True)
    assert client.get(second).status_code == 200


def test_existing_account_accepts_while_signed_in(client, session, org, mailbox):
    factories.user(email="existing@example.com")
    login(client, "chief@org.example.com", factories.PASSWORD)
    invite(client, "existing@example.com", as_admin=True)
    path = invitation_path(mailbox, "existing@example.com")
    logout(client)
    assert "请先登录" in client.get(path).get_data(as_text=True)
    login(client, "existing@example.com", factories.PASSWORD)
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.email == "existing@example.com"))
    assert [(r.role, r.organization_id) for r in user.roles] == [(Role.ORG_ADMIN, org.id)]


def test_member_of_another_organization_cannot_be_invited(client, org):
    factories.organization(admin_user=factories.user(email="busy@example.com"))
    login(client, "chief@org.example.com", factories.PASSWORD)
    assert "已属于其他机构" in invite(client, "busy@example.com").get_data(as_text=True)


def test_invite_without_csrf_sends_nothing(client, session, org, mailbox):
    login(client, "chief@org.example.com", factories.PASSWORD)
    response = client.post("/organizations/mine/members/invite", data={"email": "x@example.com"})
    assert response.status_code == 400
    assert session.scalar(select(Invitation)) is None and len(mailbox) == 0


def test_remove_member_but_never_the_last_admin(client, session, org):
    member = factories.org_member(org, email="m@example.com")
    login(client, "chief@org.example.com", factories.PASSWORD)
    html = client.get("/organizations/mine/members").get_data(as_text=True)
    assert "m@example.com" in html
    token = csrf_token(client, "/organizations/mine/members")
    assignments = {a.user.email: a for a in services.member_assignments(session, org)}
    own = assignments["chief@org.example.com"]
    html = client.post(f"/organizations/mine/members/{own.id}/remove", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "不能移除机构唯一的管理员" in html
    client.post(f"/organizations/mine/members/{assignments['m@example.com'].id}/remove", data={"csrf_token": token})
    session.expire_all()
    assert [r for r in session.get(User, member.id).roles] == []
    # The removed member has no dashboard any more.
    logout(client)
    login(client, "m@example.com", factories.PASSWORD)
    assert client.get("/organizations/mine").status_code == 404


def test_admin_of_another_organization_cannot_remove_members(client, session, org):
    member = factories.org_member(org, email="m2@example.com")
    factories.organization(admin_user=factories.user(email="intruder@example.com"))
    login(client, "intruder@example.com", factories.PASSWORD)
    assignment = member.roles[0]
    token = csrf_token(client, "/organizations/mine/members")
    assert client.post(f"/organizations/mine/members/{assignment.id}/remove",
                       data={"csrf_token": token}).status_code == 404
    session.expire_all()
    assert len(session.get(User, member.id).roles) == 1
