"""个体工商户 (credit code kind 92) and 自然人 are different undertaker kinds; a
natural person registers with a resident identity number (python-stdnum cn.ric),
stored encrypted and never shown publicly, only where the county's catalog lets
natural persons undertake something."""
from __future__ import annotations

from sqlalchemy import func, select

from procure.organizations import services
from procure.organizations.models import ORG_TYPE_LABELS, Organization, OrgStatus, OrgType
from tests import factories
from tests.conftest import login
from tests.organizations.conftest import post_registration, registration_form

ID_NUMBER = "11010519491231002X"
INDIVIDUAL_ITEM = [("公共服务", "法律服务", "人民调解", "人民调解员服务", "", ["individual"], False)]


def natural_person_form(**overrides):
    values = dict(org_type="natural_person", credit_code="", id_number=ID_NUMBER, name="张三",
                  legal_representative="张三")
    return registration_form(**{**values, **overrides})


def count():
    return factories.db.session.scalar(select(func.count()).select_from(Organization))


def test_kinds_are_distinct():
    assert ORG_TYPE_LABELS["individual"] != ORG_TYPE_LABELS["natural_person"]
    assert "个体工商户" in str(ORG_TYPE_LABELS["individual"]) and "自然人" in str(ORG_TYPE_LABELS["natural_person"])
    assert services.EXPECTED_PREFIXES[OrgType.INDIVIDUAL] == ("92",)
    assert services.code_mismatch(OrgType.NATURAL_PERSON, "") is False


def test_a_natural_person_registers_where_the_catalog_allows_and_the_number_stays_secret(client, session, app):
    factories.catalog_with_items("371321", 2026, items=INDIVIDUAL_ITEM)
    response = post_registration(client, natural_person_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    org = session.scalar(select(Organization))
    assert org.org_type == OrgType.NATURAL_PERSON and org.credit_code == ""
    assert ID_NUMBER not in org.identity_encrypted and org.identity_digest and ID_NUMBER not in org.identity_digest
    assert org.flags == []
    officer = factories.officer("371321", email="o@example.com")
    services.approve(session, org, officer=officer)  # nothing to reserve
    session.commit()
    assert org.status == OrgStatus.VERIFIED
    other = app.test_client()
    login(other, "o@example.com", factories.PASSWORD)
    review = other.get(f"/manage/organizations/{org.id}").get_data(as_text=True)
    assert "1101**********002X" in review and ID_NUMBER not in review
    for page in (f"/organizations/{org.id}", "/organizations", "/organizations?q=1101"):
        html = client.get(page).get_data(as_text=True)
        assert ID_NUMBER not in html and "002X" not in html
    assert "张三" in client.get("/organizations").get_data(as_text=True)


def test_refused_where_the_catalog_does_not_allow_natural_persons(client, session):
    factories.catalog_with_items("371321", 2026)  # no item for natural persons
    response = post_registration(client, natural_person_form())
    assert response.status_code == 200
    assert "没有允许自然人承接的服务事项" in response.get_data(as_text=True)
    assert count() == 0


def test_a_bad_or_repeated_identity_number_is_refused(client, session):
    factories.catalog_with_items("371321", 2026, items=INDIVIDUAL_ITEM)
    bad = post_registration(client, natural_person_form(id_number="110105194912310021"))
    assert bad.status_code == 200 and "居民身份证号码无效" in bad.get_data(as_text=True)
    assert count() == 0
    assert post_registration(client, natural_person_form()).status_code == 302
    again = post_registration(client, natural_person_form(account_email="other@example.com",
                                                          email="other-org@example.com"))
    assert again.status_code == 200 and "已经注册过" in again.get_data(as_text=True)
    assert count() == 1


def test_the_number_is_encrypted_under_the_configured_key(app):
    from procure.organizations.identity import IdentityKeys

    keys = IdentityKeys.from_config(app.config)
    token = keys.encrypt(ID_NUMBER)
    assert keys.decrypt(token) == ID_NUMBER
    other = IdentityKeys.from_config({**app.config, "IDENTITY_KEY": "another key"})
    assert other.digest(ID_NUMBER) != keys.digest(ID_NUMBER)
    try:
        other.decrypt(token)
    except Exception as exc:  # cryptography.fernet.InvalidToken
        assert type(exc).__name__ == "InvalidToken"
    else:  # pragma: no cover
        raise AssertionError("decrypted under another key")
