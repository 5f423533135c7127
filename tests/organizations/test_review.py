"""Officers review organizations: approve, reject, ask for information,
resubmission, suspension and its end; every decision reaches the organization
by email (real SMTP server) and inbox."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from procure.notifications.models import Notification
from procure.organizations import services
from procure.organizations.models import OrgStatus
from tests import factories
from tests.conftest import csrf_token, login


@pytest.fixture
def officer(session):
    return factories.officer(email="officer@yinan.example.com")


@pytest.fixture
def applicant(session):
    admin = factories.user(email="boss@applicant.example.com")
    org = factories.organization(status="pending", admin_user=admin, email="office@applicant.example.com",
                                 name="沂南县爱心社会工作服务中心")
    return org


def post(client, path, data=None, token_path="/manage/organizations"):
    payload = {"csrf_token": csrf_token(client, token_path), **(data or {})}
    return client.post(path, data=payload)


def as_officer(client):
    login(client, "officer@yinan.example.com", factories.PASSWORD)


def inbox(session, org_admin_email):
    return list(
        session.scalars(select(Notification).where(Notification.recipient_email == org_admin_email,
                                                   Notification.recipient_user_id.is_not(None)))
    )


def test_queue_lists_pending_applicants_of_the_county(client, officer, applicant):
    other = factories.organization("370102", status="pending", name="历下区某机构")
    as_officer(client)
    html = client.get("/manage/organizations").get_data(as_text=True)
    assert applicant.name in html
    assert other.name not in html


def test_approve_notifies_by_email_and_inbox(client, session, officer, applicant, mailbox):
    as_officer(client)
    response = post(client, f"/manage/organizations/{applicant.id}/approve", {"reason": ""})
    assert response.status_code == 302
    session.refresh(applicant)
    assert applicant.status == OrgStatus.VERIFIED and applicant.verified_at is not None
    decision = applicant.decisions[-1]
    assert decision.kind.value == "approved" and decision.actor_id == officer.id

    admin_mail = mailbox.one(to="boss@applicant.example.com")
    assert "机构审核通过" in admin_mail.subject and applicant.name in admin_mail.text
    assert admin_mail.link(containing="/organizations/mine")
    office_mail = mailbox.one(to="office@applicant.example.com")
    assert "机构审核通过" in office_mail.subject
    [entry] = inbox(session, "boss@applicant.example.com")
    assert entry.event_key == f"org.decision:{decision.id}" and entry.link == "/organizations/mine"


def test_reject_needs_a_reason_and_the_applicant_sees_it(client, session, officer, applicant, mailbox):
    as_officer(client)
    response = post(client, f"/manage/organizations/{applicant.id}/reject", {"reason": "  "})
    assert response.status_code == 302
    session.refresh(applicant)
    assert applicant.status == OrgStatus.PENDING and len(mailbox) == 0

    post(client, f"/manage/organizations/{applicant.id}/reject", {"reason": "登记证书已过有效期。"})
    session.refresh(applicant)
    assert applicant.status == OrgStatus.REJECTED and applicant.status_reason == "登记证书已过有效期。"
    message = mailbox.one(to="boss@applicant.example.com")
    assert "未通过" in message.subject and "登记证书已过有效期。" in message.text

    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/organizations/mine")})
    login(client, "boss@applicant.example.com", factories.PASSWORD)
    html = client.get("/organizations/mine").get_data(as_text=True)
    assert "注册申请未通过审核" in html and "登记证书已过有效期。" in html
    assert "暂不能投标" in html


def test_request_info_then_edit_resubmits(client, session, officer, applicant, mailbox):
    as_officer(client)
    post(client, f"/manage/organizations/{applicant.id}/request-info", {"reason": "请上传最新年检报告。"})
    session.refresh(applicant)
    assert applicant.status == OrgStatus.NEEDS_INFO
    assert "请补充" in mailbox.one(to="boss@applicant.example.com").subject

    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/organizations/mine")})
    login(client, "boss@applicant.example.com", factories.PASSWORD)
    html = client.get("/organizations/mine").get_data(as_text=True)
    assert "请上传最新年检报告。" in html
    # Resubmit without edits (e.g. after uploading the document).
    response = post(client, "/organizations/mine/resubmit", token_path="/organizations/mine")
    assert response.status_code == 302
    session.refresh(applicant)
    assert applicant.status == OrgStatus.PENDING
    assert [d.kind.value for d in applicant.decisions] == ["submitted", "info_requested", "resubmitted"]


def test_edit_of_needs_info_organization_is_the_resubmission(session, officer, applicant):
    services.request_info(session, applicant, officer=officer, message="地址不完整")
    session.commit()
    data = factories.org_data(name=applicant.name, credit_code=applicant.credit_code, address="沂南县界湖街道完整地址 9 号")
    services.update(session, applicant, data, actor=applicant.decisions[0].actor)
    session.commit()
    assert applicant.status == OrgStatus.PENDING
    assert applicant.decisions[-1].kind.value == "resubmitted"


def test_verified_organization_changing_its_name_goes_back_to_review(client, session, officer):
    admin = factories.user(email="admin@verified.example.com")
    org = factories.organization(status="verified", admin_user=admin, officer_user=officer)
    login(client, "admin@verified.example.com", factories.PASSWORD)
    form = client.get("/organizations/mine/edit").get_data(as_text=True)
    assert org.name in form
    data = {
        "csrf_token": csrf_token(client, "/organizations/mine/edit"),
        "name": org.name + "（更名）",
        "credit_code": org.credit_code,
        "org_type": org.org_type.value,
        "county": "371321",
        "address": org.address,
        "legal_representative": org.legal_representative,
        "contact_person": org.contact_person,
        "phone": org.phone,
        "email": org.email,
        "budget_funded": "no",
        "declares_independent_liability": "y",
        "declares_sound_accounts": "y",
        "declares_tax_social_insurance": "y",
        "declares_no_major_violation": "y",
    }
    response = client.post("/organizations/mine/edit", data=data)
    assert response.status_code == 302
    session.refresh(org)
    assert org.status == OrgStatus.PENDING and org.name.endswith("（更名）")
    assert org.decisions[-1].kind.value == "changed" and "机构名称" in org.decisions[-1].reason
    assert services.bid_eligibility(org, today=date.today())[0] is False


def test_verified_organization_changing_only_its_address_stays_verified(session, officer):
    org = factories.organization(status="verified", officer_user=officer)
    data = factories.org_data(name=org.name, credit_code=org.credit_code, org_type=org.org_type.value,
                              address="新地址 2 号")
    changed = services.update(session, org, data, actor=officer)
    assert "address" in changed and org.status == OrgStatus.VERIFIED


def test_not_eligible_type_cannot_be_approved(client, session, officer):
    org = factories.organization(status="pending", org_type="public_institution_class1")
    as_officer(client)
    html = client.get(f"/manage/organizations/{org.id}").get_data(as_text=True)
    assert 'data-flag="not_eligible"' in html and "财政部令第102号" in html
    response = post(client, f"/manage/organizations/{org.id}/approve")
    assert response.status_code == 302
    session.refresh(org)
    assert org.status == OrgStatus.PENDING


def test_flags_are_explained_to_the_officer(client, officer):
    org = factories.organization(status="pending", org_type="enterprise", credit_code=factories.credit_code("51"),
                                 budget_funded=True, mass_org_affiliate=True)
    as_officer(client)
    html = client.get(f"/manage/organizations/{org.id}").get_data(as_text=True)
    for flag in ("budget_funded", "mass_organization", "code_mismatch"):
        assert f'data-flag="{flag}"' in html
    assert "财政拨款保障的群团组织不能作为承接主体" in html
    assert "一律人工审核" in html
    assert "社会团体" in html and "91、93" in html  # what the code says vs. what the type expects


def test_suspend_and_lift(client, session, officer, mailbox):
    admin = factories.user(email="admin@sus.example.com")
    org = factories.organization(status="verified", admin_user=admin, officer_user=officer,
                                 email="office@sus.example.com")
    mailbox.clear()
    as_officer(client)
    until = date.today() + timedelta(days=90)
    # Without a reason: refused, nothing changes.
    post(client, f"/manage/organizations/{org.id}/suspend", {"reason": "", "until": until.isoformat()})
    session.refresh(org)
    assert org.status == OrgStatus.VERIFIED and len(mailbox) == 0
    # A date in the past: refused.
    post(client, f"/manage/organizations/{org.id}/suspend",
         {"reason": "列入失信被执行人名单", "until": (date.today() - timedelta(days=1)).isoformat()})
    session.refresh(org)
    assert org.status == OrgStatus.VERIFIED

    post(client, f"/manage/organizations/{org.id}/suspend", {"reason": "列入失信被执行人名单", "until": until.isoformat()})
    session.refresh(org)
    assert org.status == OrgStatus.SUSPENDED and org.suspended_until == until
    eligible, why = services.bid_eligibility(org, today=date.today())
    assert not eligible and "列入失信被执行人名单" in why and until.isoformat() in why
    assert "暂停" in mailbox.one(to="admin@sus.example.com").subject
    # The public page shows the state, not the reason.
    public = client.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert until.isoformat() in public and "失信" not in public

    post(client, f"/manage/organizations/{org.id}/lift", {"reason": ""})
    session.refresh(org)
    assert org.status == OrgStatus.VERIFIED and org.suspended_until is None
    assert services.bid_eligibility(org, today=date.today()) == (True, "")
    assert len(mailbox.to("admin@sus.example.com")) == 2
    assert len(inbox(session, "admin@sus.example.com")) == 3  # approved, suspended, lifted


def test_expired_suspensions_are_lifted_once(session, officer):
    org = factories.organization(status="verified", officer_user=officer)
    services.suspend(session, org, officer=officer, reason="失信", until=date(2026, 12, 31), today=date(2026, 12, 1))
    session.commit()
    assert services.bid_eligibility(org, today=date(2026, 12, 31))[0] is False
    assert services.bid_eligibility(org, today=date(2027, 1, 1))[0] is True
    assert services.expire_suspensions(session, today=date(2026, 12, 31)) == []
    assert services.expire_suspensions(session, today=date(2027, 1, 1)) == [org]
    assert services.expire_suspensions(session, today=date(2027, 1, 1)) == []
    assert org.status == OrgStatus.VERIFIED


def test_each_decision_is_notified_once(session, officer, applicant):
    decision = services.approve(session, applicant, officer=officer)
    session.commit()
    # Notifying the same decision again changes nothing (exactly once per event and recipient).
    services._notify_decision(session, applicant, decision)
    session.commit()
    keys = session.scalars(select(Notification.event_key).where(Notification.event_key.like("org.decision:%"))).all()
    assert sorted(keys) == [f"org.decision:{decision.id}"] * 2  # admin (inbox + email) and the office address


def test_decisions_without_csrf_change_nothing(client, session, officer, applicant, mailbox):
    as_officer(client)
    response = client.post(f"/manage/organizations/{applicant.id}/approve", data={"reason": ""})
    assert response.status_code == 400
    session.refresh(applicant)
    assert applicant.status == OrgStatus.PENDING and len(mailbox) == 0


def test_wrong_transitions_are_refused(session, officer, applicant):
    from procure.errors import DomainError

    with pytest.raises(DomainError):
        services.suspend(session, applicant, officer=officer, reason="x", until=date(2099, 1, 1), today=date.today())
    with pytest.raises(DomainError):
        services.lift_suspension(session, applicant, officer=officer)
    services.approve(session, applicant, officer=officer)
    with pytest.raises(DomainError):
        services.approve(session, applicant, officer=officer)
    with pytest.raises(DomainError):
        services.request_info(session, applicant, officer=officer, message="x")


def test_suspended_organization_cannot_change_name_code_or_type(session, officer):
    from procure.errors import DomainError

    org = factories.organization(status="verified", officer_user=officer)
    services.suspend(session, org, officer=officer, reason="失信", until=date.today() + timedelta(days=30),
                     today=date.today())
    session.commit()
    data = factories.org_data(name="换个名字逃避暂停", credit_code=org.credit_code, org_type=org.org_type.value)
    with pytest.raises(DomainError, match="暂停期间不能变更"):
        services.update(session, org, data, actor=officer)
    session.rollback()
    session.refresh(org)
    assert org.status == OrgStatus.SUSPENDED and org.name != "换个名字逃避暂停"


def test_changing_the_code_to_one_already_registered_is_refused(session, officer):
    first = factories.organization(status="verified", officer_user=officer)
    second = factories.organization(status="verified", officer_user=officer)
    data = factories.org_data(name=second.name, credit_code=first.credit_code.lower())
    with pytest.raises(services.DuplicateCode) as info:
        services.update(session, second, data, actor=officer)
    assert info.value.organization.id == first.id


def test_queue_is_paged_in_sql(app, client, officer, monkeypatch):
    import re

    monkeypatch.setitem(app.config, "WORK_LIST_PAGE_SIZE", 5)
    for i in range(12):
        factories.organization(status="pending", name=f"沂南县排队社工服务中心{i:02d}")
    as_officer(client)
    seen = []
    for number in (1, 2, 3):
        html = client.get(f"/manage/organizations?page={number}").get_data(as_text=True)
        assert f"第 {number} / 3 页" in html
        seen += re.findall(r"沂南县排队社工服务中心\d\d", html)
    assert sorted(seen) == [f"沂南县排队社工服务中心{i:02d}" for i in range(12)]  # each once, none lost
    last = client.get("/manage/organizations?page=99").get_data(as_text=True)  # past the end: the last page
    assert "第 3 / 3 页" in last and len(re.findall(r"沂南县排队社工服务中心\d\d", last)) == 2
    assert "第 1 / 1 页" not in client.get("/manage/organizations?status=verified").get_data(as_text=True)
