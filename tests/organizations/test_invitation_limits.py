"""Invitations cannot be used to spam: rate-limited per organization and per
inviting account, only from a confirmed registration, one email per invitation."""
import pytest
from sqlalchemy import func, select

from procure.errors import DomainError
from procure.organizations import services
from procure.organizations.models import Invitation
from tests import factories
from tests.conftest import csrf_token, login


@pytest.fixture
def org(session):
    admin = factories.user(email="chief@org.example.com")
    org = factories.organization(status="verified", admin_user=admin)
    factories.org_member(org, admin=True, email="deputy@org.example.com")
    return org


def invite(client, email):
    data = {"csrf_token": csrf_token(client, "/organizations/mine/members"), "email": email}
    return client.post("/organizations/mine/members/invite", data=data, follow_redirects=True)


def logout(client):
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})


def count(session):
    return session.scalar(select(func.count()).select_from(Invitation))


def test_invitations_are_rate_limited_per_account(app, client, session, org, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "INVITE_LIMIT_PER_ACCOUNT", "2 per hour")
    login(client, "chief@org.example.com", factories.PASSWORD)
    assert "邀请已发送" in invite(client, "a@example.com").get_data(as_text=True)
    assert "邀请已发送" in invite(client, "b@example.com").get_data(as_text=True)
    page = invite(client, "c@example.com").get_data(as_text=True)
    assert "过于频繁" in page
    assert count(session) == 2 and mailbox.to("c@example.com") == []
    # Another administrator of the organization still may (own account limit).
    logout(client)
    login(client, "deputy@org.example.com", factories.PASSWORD)
    assert "邀请已发送" in invite(client, "c@example.com").get_data(as_text=True)


def test_invitations_are_rate_limited_per_organization(app, client, session, org, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "INVITE_LIMIT_PER_ORGANIZATION", "2 per hour")
    login(client, "chief@org.example.com", factories.PASSWORD)
    invite(client, "a@example.com")
    logout(client)
    login(client, "deputy@org.example.com", factories.PASSWORD)
    invite(client, "b@example.com")
    assert "过于频繁" in invite(client, "c@example.com").get_data(as_text=True)
    assert count(session) == 2 and mailbox.to("c@example.com") == []


def test_a_repeated_invitation_does_not_count_against_the_limit_nor_send_mail(app, client, session, org, mailbox,
                                                                              monkeypatch):
    monkeypatch.setitem(app.config, "INVITE_LIMIT_PER_ACCOUNT", "2 per hour")
    login(client, "chief@org.example.com", factories.PASSWORD)
    for _ in range(5):
        invite(client, "same@example.com")
    assert len(mailbox.to("same@example.com")) == 1
    assert "邀请已发送" in invite(client, "other@example.com").get_data(as_text=True)


def test_an_unconfirmed_registration_cannot_invite(session):
    admin = factories.user(confirmed=False)
    org, _ = services.register(session, factories.org_data(), user=admin)
    assert org.confirmed_at is None
    with pytest.raises(DomainError, match="确认"):
        services.invite(session, org, email="friend@example.com", invited_by=admin, timezone="Asia/Shanghai")
    assert count(session) == 0


def test_the_inviter_sees_the_pending_invitations_with_revoke(client, session, org, mailbox):
    login(client, "chief@org.example.com", factories.PASSWORD)
    invite(client, "pending@example.com")
    page = client.get("/organizations/mine/members").get_data(as_text=True)
    invitation = session.scalar(select(Invitation))
    assert "pending@example.com" in page
    assert f"/organizations/mine/invitations/{invitation.id}/revoke" in page
