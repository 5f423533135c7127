"""A credit code is held only by a registration whose account confirmed its
email; unconfirmed registrations expire; the real organization is told to turn
to its county, whose officer sees who holds the code and can release it."""
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from procure.accounts.models import User
from procure.errors import DomainError
from procure.organizations import services
from procure.organizations.models import DecisionKind, Organization, OrgStatus
from procure.timeutil import utcnow
from tests import factories
from tests.conftest import csrf_token, login
from tests.organizations.conftest import post_registration, registration_form


def _confirm(client, mailbox, email):
    link = mailbox.one(to=email).link(containing="/account/confirm/")
    return client.get(urlsplit(link).path)


def test_an_unconfirmed_registration_does_not_lock_the_code(client, session, mailbox):
    code = factories.credit_code("52")
    squatter = registration_form(credit_code=code, account_email="squatter@example.com")
    assert post_registration(client, squatter).status_code == 302
    real = registration_form(credit_code=code, account_email="real@example.com", name="真正的机构")
    assert post_registration(client, real).status_code == 302
    assert session.scalar(select(func.count()).select_from(Organization)) == 2
    assert session.scalars(select(Organization).where(Organization.code_reserved)).all() == []


def test_confirming_the_email_reserves_the_code_and_a_later_registration_is_told_to_contact_the_county(
        client, session, mailbox):
    code = factories.credit_code("52")
    post_registration(client, registration_form(credit_code=code, account_email="first@example.com"))
    _confirm(client, mailbox, "first@example.com")
    holder = session.scalar(select(Organization))
    assert holder.code_reserved and holder.confirmed_at is not None

    response = post_registration(client, registration_form(credit_code=code, account_email="second@example.com"))
    assert response.status_code == 200
    assert "联系所在区县的主管部门" in response.get_data(as_text=True)


def test_a_registration_confirmed_after_the_holder_waits_without_the_code(client, session, mailbox):
    code = factories.credit_code("52")
    post_registration(client, registration_form(credit_code=code, account_email="squatter@example.com"))
    post_registration(client, registration_form(credit_code=code, account_email="real@example.com"))
    _confirm(client, mailbox, "squatter@example.com")
    _confirm(client, mailbox, "real@example.com")
    real = session.scalar(select(Organization).join(Organization.decisions)
                          .where(Organization.code_reserved.is_(False)))
    assert real.confirmed_at is not None and real.status == OrgStatus.PENDING

    login(client, "real@example.com", factories.PASSWORD)
    page = client.get("/organizations/mine").get_data(as_text=True)
    assert "已被另一注册持有" in page and "联系" in page
    with pytest.raises(DomainError):
        services.approve(session, real, officer=factories.officer("371321"))


def test_unconfirmed_registrations_expire_and_free_code_and_address(app, session, client, mailbox):
    code = factories.credit_code("52")
    post_registration(client, registration_form(credit_code=code, account_email="squatter@example.com"))
    days = app.config["UNCONFIRMED_REGISTRATION_DAYS"]
    assert days == 7
    now = utcnow()
    ttl = timedelta(days=days)
    assert services.purge_unconfirmed_registrations(session, ttl=ttl, now=now + timedelta(days=days - 1)) == 0
    assert services.purge_unconfirmed_registrations(session, ttl=ttl, now=now + timedelta(days=days, minutes=1)) == 1
    session.commit()
    assert session.scalar(select(func.count()).select_from(Organization)) == 0
    assert session.scalar(select(User).where(User.email == "squatter@example.com")) is None
    # A confirmed registration is never purged.
    org = factories.organization(status="pending")
    assert services.purge_unconfirmed_registrations(session, ttl=ttl, now=now + timedelta(days=365)) == 0
    assert session.get(Organization, org.id) is not None


def test_the_hourly_beat_job_purges_unconfirmed_registrations(celery_app, session, client, mailbox, monkeypatch):
    from workers.schedule import beat_schedule
    from workers.tasks import purge_unconfirmed_registrations

    assert beat_schedule["purge_unconfirmed_registrations"]["schedule"] == timedelta(hours=1)
    post_registration(client, registration_form(account_email="squatter@example.com"))
    org = session.scalar(select(Organization))
    org.created_at = utcnow() - timedelta(days=8)
    session.commit()
    assert purge_unconfirmed_registrations.apply().get() == 1
    assert purge_unconfirmed_registrations.apply().get() == 0
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Organization)) == 0


def _squatted(session, client, mailbox, county="371321"):
    """A code of ``county`` held by a confirmed registration of someone else
    (here filed in another county); returns (code, holder)."""
    code = factories.credit_code("52", county)
    holder = factories.organization("371302", status="pending", credit_code=code, name="冒名机构")
    return code, holder


def test_the_officer_sees_the_holder_of_a_code_and_releases_it(client, session, mailbox):
    factories.officer("371321", email="officer@example.com")
    code, holder = _squatted(session, client, mailbox)
    login(client, "officer@example.com", factories.PASSWORD)
    page = client.get(f"/manage/credit-codes?code={code}").get_data(as_text=True)
    assert "冒名机构" in page and "持有该代码" in page
    response = client.post(f"/manage/organizations/{holder.id}/release-code",
                           data={"csrf_token": csrf_token(client, "/manage/credit-codes"),
                                 "reason": "核实登记证书后确认不是该机构"})
    assert response.status_code == 302
    session.refresh(holder)
    assert not holder.code_reserved and holder.status == OrgStatus.REJECTED
    assert holder.decisions[-1].kind == DecisionKind.CODE_RELEASED
    # The real organization can now register its code.
    services.check_code_available(session, code)


def test_an_officer_of_an_unrelated_county_sees_no_details_and_cannot_release(client, session, mailbox):
    factories.officer("370102", email="far@example.com")
    code, holder = _squatted(session, client, mailbox)
    login(client, "far@example.com", factories.PASSWORD)
    page = client.get(f"/manage/credit-codes?code={code}").get_data(as_text=True)
    assert "冒名机构" not in page and "其他区县" in page
    response = client.post(f"/manage/organizations/{holder.id}/release-code",
                           data={"csrf_token": csrf_token(client, "/manage/credit-codes"), "reason": "x"})
    assert response.status_code == 404
    session.refresh(holder)
    assert holder.code_reserved


def test_a_verified_organization_code_is_not_released(session):
    officer = factories.officer("371321")
    org = factories.organization("371321", status="verified", officer_user=officer)
    with pytest.raises(DomainError):
        services.release_code(session, org, officer=officer, reason="x")


@pytest.mark.parametrize("raw", ["9" * 40, "%", "52371321MA0000001X"])
def test_a_malformed_code_lookup_is_answered_with_a_message(client, session, raw):
    factories.officer("371321", email="officer@example.com")
    login(client, "officer@example.com", factories.PASSWORD)
    response = client.get("/manage/credit-codes", query_string={"code": raw})
    assert response.status_code == 200
    assert 'class="invalid-feedback' in response.get_data(as_text=True)


@pytest.mark.parametrize("raw", ["\x00" * 18, "52371321MA0000001\x00"])
def test_a_nul_in_the_code_lookup_is_refused_with_the_site_error_page(client, session, raw):
    # Control characters never reach the view: the request guard answers 400.
    factories.officer("371321", email="officer@example.com")
    login(client, "officer@example.com", factories.PASSWORD)
    response = client.get("/manage/credit-codes", query_string={"code": raw})
    assert response.status_code == 400
    assert "<main" in response.get_data(as_text=True)
