"""Registration of an organization and its first user, through the web form."""
import difflib
import re

import pytest
from sqlalchemy import func, select

from procure.accounts.models import Role, User
from procure.notifications.models import Notification
from procure.organizations.models import Organization, OrganizationDocument, OrgStatus
from tests import factories
from tests.organizations import files
from tests.organizations.conftest import REGISTER, post_registration, registration_form


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def page_text(response) -> str:
    return response.get_data(as_text=True)


def test_form_is_public_and_lists_counties(client):
    html = page_text(client.get(REGISTER))
    assert "注册机构" in html and "沂南县" in html
    assert "公益一类事业单位（不具备承接资格）" in html  # applicants can say so honestly


def test_successful_registration(client, session, mailbox, uploads_root):
    data = registration_form()
    response = post_registration(client, data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/login")

    org = session.scalar(select(Organization))
    assert org.status == OrgStatus.PENDING
    assert org.credit_code == data["credit_code"]
    assert org.phone == "13805391234"
    assert org.all_declarations and org.declared_at is not None
    assert [d.kind.value for d in org.decisions] == ["submitted"]
    assert org.flags == []

    user = session.scalar(select(User).where(User.email == "wangfang@sunshine.example.com"))
    assert user.email_confirmed_at is None
    assert [(r.role, r.organization_id) for r in user.roles] == [(Role.ORG_ADMIN, org.id)]

    doc = session.scalar(select(OrganizationDocument))
    assert doc.content_type == "application/pdf" and doc.original_name == "证书.pdf"
    stored = uploads_root / str(org.id) / doc.stored_name
    assert stored.read_bytes() == files.pdf()
    assert "证书" not in doc.stored_name and len(doc.sha256) == 64

    # The confirmation email arrived at the real SMTP server.
    message = mailbox.one(to="wangfang@sunshine.example.com")
    assert "/account/confirm/" in message.link(containing="/account/confirm/")


def test_credit_code_is_normalised(client, session):
    code = factories.credit_code("52")
    messy = f"{code[:2].lower()} {code[2:8]}-{code[8:].lower()}"
    assert post_registration(client, registration_form(credit_code=messy)).status_code == 302
    assert session.scalar(select(Organization.credit_code)) == code


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"declares_sound_accounts": None}, "必须确认此项声明才能提交。"),
        ({"phone": "12345"}, "联系电话格式不正确"),
        ({"phone": "010-123"}, "联系电话格式不正确"),
        ({"email": "not-an-email"}, "邮箱格式不正确"),
        ({"account_email": "nobody@"}, "邮箱格式不正确"),
        ({"credit_code": "91371321MA0000011"}, "统一社会信用代码应为 18 位，您输入了 17 位。"),
        ({"org_type": ""}, "请选择机构类型。"),
        ({"county": "999999"}, "不是有效的选择"),
        ({"budget_funded": None}, "请回答本机构是否由财政拨款保障。"),
        ({"account_password2": "something else 123"}, "两次输入的密码不一致。"),
        ({"account_password": "123456", "account_password2": "123456"}, "密码"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(client, session, mailbox, overrides, expected):
    response = post_registration(client, registration_form(**overrides))
    assert response.status_code == 200
    assert expected in page_text(response)
    assert "注册未提交" in page_text(response)
    assert count(session, Organization) == 0
    assert count(session, User) == 0
    assert len(mailbox) == 0


def test_landline_with_area_code_is_accepted(client, session):
    assert post_registration(client, registration_form(phone="(0539) 322 1234")).status_code == 302
    assert session.scalar(select(Organization.phone)) == "0539-3221234"


def test_certificate_is_required(client, session):
    response = post_registration(client, registration_form(), certificate=None)
    assert "请上传登记证书或营业执照" in page_text(response)
    assert count(session, Organization) == 0


def test_disguised_executable_is_refused(client, session, uploads_root):
    response = post_registration(client, registration_form(), certificate=("证书.pdf", files.exe()))
    assert response.status_code == 200
    assert "Windows 可执行程序" in page_text(response)
    assert count(session, Organization) == 0 and count(session, User) == 0


def test_png_named_pdf_is_stored_as_png(client, session):
    assert post_registration(client, registration_form(), certificate=("执照.pdf", files.png())).status_code == 302
    doc = session.scalar(select(OrganizationDocument))
    assert doc.content_type == "image/png" and doc.stored_name.endswith(".png")


def test_oversized_file_is_refused(client, session, app, monkeypatch):
    monkeypatch.setitem(app.config, "ORG_DOCUMENT_MAX_BYTES", 2048)
    response = post_registration(client, registration_form(), certificate=("big.pdf", files.pdf(extra=4096)))
    assert "文件太大" in page_text(response)
    assert count(session, Organization) == 0


def test_duplicate_code_points_to_the_existing_organization(client, session):
    existing = factories.organization(status="verified")
    response = post_registration(client, registration_form(credit_code=existing.credit_code.lower()))
    html = page_text(response)
    assert response.status_code == 200
    assert f"该统一社会信用代码已由“{existing.name}”注册" in html
    assert f'href="/organizations/{existing.id}"' in html
    assert count(session, Organization) == 1


def test_duplicate_of_a_pending_applicant_reveals_nothing(client, session):
    existing = factories.organization(status="pending")
    html = page_text(post_registration(client, registration_form(credit_code=existing.credit_code)))
    assert "该统一社会信用代码已有机构提交注册" in html
    assert existing.name not in html and f"/organizations/{existing.id}" not in html
    assert count(session, Organization) == 1


def test_type_mismatch_is_accepted_but_flagged(client, session):
    # A civil-affairs social-group code (51…) registered as an "enterprise".
    data = registration_form(org_type="enterprise", credit_code=factories.credit_code("51"))
    assert post_registration(client, data).status_code == 302
    org = session.scalar(select(Organization))
    assert org.flag_code_mismatch and org.flags == ["code_mismatch"]


def test_budget_funded_and_mass_organizations_are_flagged(client, session):
    data = registration_form(budget_funded="yes", mass_org_affiliate="y", org_type="social_group",
                             credit_code=factories.credit_code("51"))
    assert post_registration(client, data).status_code == 302
    org = session.scalar(select(Organization))
    assert org.flags == ["budget_funded", "mass_organization"]


def test_not_eligible_type_is_flagged(client, session):
    data = registration_form(org_type="mass_org_organ", credit_code=factories.credit_code("13"))
    assert post_registration(client, data).status_code == 302
    org = session.scalar(select(Organization))
    assert org.flags == ["not_eligible", "mass_organization"]


def _answer(app, data):
    """What a visitor learns from submitting ``data``: status, redirect, the
    page it leads to (with the typed address blanked), and the session keys."""
    client = app.test_client()
    response = post_registration(client, data)
    with client.session_transaction() as s:
        keys = sorted(k for k in s.keys() if k not in ("csrf_token", "_flashes"))
    page = client.get(response.headers.get("Location", "/")).get_data(as_text=True)
    page = page.replace(data["account_email"], "EMAIL")
    page = re.sub(r'(name="csrf_token"[^>]*value=)"[^"]*"', r"\1", page)  # a fresh token per session
    return response.status_code, response.headers.get("Location"), keys, page


def test_registration_does_not_reveal_whether_the_email_has_an_account(app, session, mailbox):
    factories.user(email="taken@example.com")
    new = _answer(app, registration_form(account_email="newcomer@example.com"))
    taken = _answer(app, registration_form(account_email="taken@example.com"))
    assert new[:3] == taken[:3]
    assert new[3] == taken[3], "\n".join(difflib.unified_diff(new[3].splitlines(), taken[3].splitlines(), lineterm=""))
    assert "已注册" not in taken[3]
    assert "_user_id" not in taken[2]
    # Only the new address got an organization; the existing account's owner
    # is told by email what happened, with a sign-in and a reset link.
    assert count(session, Organization) == 1
    assert "/account/confirm/" in mailbox.one(to="newcomer@example.com").link(containing="/account/confirm/")
    told = mailbox.one(to="taken@example.com")
    assert "已经有账号" in told.text
    assert told.link(containing="/account/login") and told.link(containing="/account/reset")
    # Registering again and again does not flood the owner's mailbox.
    again = _answer(app, registration_form(account_email="taken@example.com"))
    assert again[:3] == taken[:3]
    assert len(mailbox.to("taken@example.com")) == 1


def test_weak_password_is_refused_the_same_way_for_an_existing_email(app, session):
    factories.user(email="taken@example.com")
    new = _answer(app, registration_form(account_email="newcomer@example.com", account_password="123456",
                                         account_password2="123456"))
    taken = _answer(app, registration_form(account_email="taken@example.com", account_password="123456",
                                           account_password2="123456"))
    assert new[0] == taken[0] == 200 and new[3] == taken[3]


def test_missing_csrf_changes_nothing(client, session, mailbox):
    response = post_registration(client, registration_form(csrf_token="forged"))
    assert response.status_code == 400
    assert count(session, Organization) == 0 and count(session, User) == 0
    assert len(mailbox) == 0


def test_unconfirmed_registrant_cannot_use_the_dashboard(client, session):
    from tests.conftest import login

    data = registration_form()
    assert post_registration(client, data).status_code == 302
    login(client, data["account_email"], data["account_password"])
    response = client.get("/organizations/mine")
    assert response.status_code == 302 and "/account/unconfirmed" in response.headers["Location"]


def test_signed_in_user_without_organization_registers_with_their_account(client, session):
    from tests.conftest import login

    user = factories.user(email="solo@example.com")
    login(client, "solo@example.com", factories.PASSWORD)
    data = {k: v for k, v in registration_form().items() if not k.startswith("account_")}
    response = post_registration(client, data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/organizations/mine")
    org = session.scalar(select(Organization))
    session.refresh(user)
    assert [(r.role, r.organization_id) for r in user.roles] == [(Role.ORG_ADMIN, org.id)]
    assert count(session, Notification) == 0  # no confirmation needed: already confirmed
    # A member cannot register a second organization.
    assert client.get(REGISTER).status_code == 302


def test_officer_cannot_register_an_organization(client):
    from tests.conftest import login

    factories.officer(email="off@example.com")
    login(client, "off@example.com", factories.PASSWORD)
    assert client.get(REGISTER).status_code == 403
