"""County officers hear of every application that enters their review queue."""
from urllib.parse import urlsplit

from sqlalchemy import select

from procure.notifications.models import Notification
from tests import factories
from tests.organizations.conftest import post_registration, registration_form


def test_registration_notifies_the_home_county_officers_only(client, session, mailbox):
    home = factories.officer("371321", email="home@example.com")
    factories.officer("371302", email="elsewhere@example.com")
    response = post_registration(client, registration_form(budget_funded="yes"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    # Nobody hears of an application before its email is confirmed.
    assert mailbox.to("home@example.com") == []
    link = mailbox.one(to="wangfang@sunshine.example.com").link(containing="/account/confirm/")
    client.get(urlsplit(link).path)

    message = mailbox.one(to="home@example.com")
    assert "新的机构注册申请待审核：沂南县阳光社会工作服务中心" in message.subject
    assert "需要人工核实" in message.text  # the budget-funded flag is pointed out
    assert "/manage/organizations/" in message.link(containing="/manage/organizations/")
    assert mailbox.to("elsewhere@example.com") == []
    session.expire_all()
    inbox = session.scalars(select(Notification).where(Notification.recipient_user_id == home.id)).all()
    assert [n.template for n in inbox] == ["org_review_request"]


def test_a_refused_registration_notifies_nobody(client, session, mailbox):
    factories.officer("371321", email="home@example.com")
    response = post_registration(client, registration_form(phone="123"))
    assert response.status_code == 200
    assert mailbox.to("home@example.com") == []
    assert session.scalar(select(Notification.id).where(Notification.template == "org_review_request")) is None


def test_an_unconfirmed_registration_notifies_nobody_and_the_queue_shows_its_state(client, session, mailbox):
    from procure.organizations.models import Organization

    factories.officer("371321", email="home@example.com")
    assert post_registration(client, registration_form()).status_code == 302
    assert mailbox.to("home@example.com") == []
    assert session.scalar(select(Notification.id).where(Notification.template == "org_review_request")) is None
    factories.organization("371321", status="pending")  # a confirmed one (factory)
    from tests.conftest import login

    other = client.application.test_client()
    login(other, "home@example.com", factories.PASSWORD)
    html = other.get("/manage/organizations").get_data(as_text=True)
    cells = html.split('data-testid="confirmation">')[1:]
    states = sorted(c.split("</td>")[0].split(">")[1].split("<")[0] for c in cells)
    assert states == ["已确认", "邮箱未确认"]
    assert session.scalar(select(Organization).where(Organization.confirmed_at.is_(None))) is not None
