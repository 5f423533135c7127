"""Supervision: the fields an officer verified send the organization back to
review when they change (the home county above all: it decides WHO reviews),
and a suspension belongs to the county that imposed it, wherever the
organization goes."""
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from procure import policy
from procure.notifications.models import Notification
from procure.organizations import services
from procure.organizations.models import DecisionKind, OrgStatus
from tests import factories
from tests.conftest import csrf_token, login

# Every field whose change re-opens review, and why. The test below fails when
# services.REVIEW_FIELDS gains or loses one without this list saying why.
REVIEW_FIELD_REASONS = {
    "name": "the officer checked the name against the registration certificate",
    "credit_code": "the code identifies the legal entity; another code is another organization",
    "org_type": "the type decides eligibility (MoF Order 102) and the undertaker types it may bid as",
    "county_id": "the home county's officers review and supervise it: a move hands it to officers "
                 "who never reviewed it, so they must",
    "legal_representative": "printed on the registration certificate the officer checked",
    "budget_funded": "a budget-funded institution may not undertake; the officer must re-check the flag",
    "mass_org_affiliate": "grants the mass-organization undertaker type (items reserved to them first)",
}

# OrgData attribute -> new value maker, for each field of the form.
def _changes(org):
    return {
        "name": ("name", org.name + "（新）"),
        "credit_code": ("credit_code", factories.credit_code("52")),
        "org_type": ("org_type", "foundation"),
        "county_id": ("county", factories.county("371302")),
        "legal_representative": ("legal_representative", "新负责人"),
        "budget_funded": ("budget_funded", True),
        "mass_org_affiliate": ("mass_org_affiliate", True),
        "address": ("address", "新地址 9 号"),
        "contact_person": ("contact_person", "新联系人"),
        "phone": ("phone", "13912345678"),
        "email": ("email", "new-office@example.com"),
    }


def _data_of(org, **changes):
    data = services.OrgData(
        name=org.name, credit_code=org.credit_code, org_type=org.org_type.value, county=org.county,
        address=org.address, legal_representative=org.legal_representative, contact_person=org.contact_person,
        phone=org.phone, email=org.email, budget_funded=org.budget_funded, mass_org_affiliate=org.mass_org_affiliate,
        declares_independent_liability=True, declares_sound_accounts=True, declares_tax_social_insurance=True,
        declares_no_major_violation=True,
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def _admin_of(org):
    from procure.extensions import db

    return services.admin_assignments(db.session, org)[0].user


def test_review_fields_are_exactly_the_listed_ones_each_with_its_reason():
    assert set(services.REVIEW_FIELDS) == set(REVIEW_FIELD_REASONS)


@pytest.mark.parametrize("field", sorted(REVIEW_FIELD_REASONS))
def test_changing_a_review_field_of_a_verified_organization_reopens_review(session, field):
    org = factories.organization(status="verified")
    attribute, value = _changes(org)[field]
    services.update(session, org, _data_of(org, **{attribute: value}), actor=_admin_of(org))
    session.commit()
    assert org.status == OrgStatus.PENDING, REVIEW_FIELD_REASONS[field]
    assert org.decisions[-1].kind == DecisionKind.CHANGED


@pytest.mark.parametrize("field", ["address", "contact_person", "phone", "email"])
def test_changing_contact_details_keeps_the_organization_verified(session, field):
    org = factories.organization(status="verified")
    attribute, value = _changes(org)[field]
    assert services.update(session, org, _data_of(org, **{attribute: value}), actor=_admin_of(org)) == [field]
    assert org.status == OrgStatus.VERIFIED


def test_moving_to_another_county_hands_the_review_to_the_new_county(client, session):
    old_officer = factories.officer("371321")
    new_officer = factories.officer("371302", email="new-county@example.com")
    admin = factories.user(email="chief@mover.example.com")
    org = factories.organization("371321", status="verified", admin_user=admin, officer_user=old_officer)
    login(client, "chief@mover.example.com", factories.PASSWORD)
    form = {k: v for k, v in _form_of(org).items()}
    form["county"] = "371302"
    form["csrf_token"] = csrf_token(client, "/organizations/mine/edit")
    assert client.post("/organizations/mine/edit", data=form).status_code == 302
    session.refresh(org)
    assert org.status == OrgStatus.PENDING and org.county.code == "371302"
    # The new county's officer is told and decides; the old one no longer can.
    assert session.scalar(select(Notification).where(Notification.recipient_user_id == new_officer.id))
    assert policy.can_review_organization(new_officer, org)
    assert not policy.can_review_organization(old_officer, org)


def _form_of(org) -> dict:
    return {
        "name": org.name, "credit_code": org.credit_code, "org_type": org.org_type.value,
        "county": org.county.code, "address": org.address, "legal_representative": org.legal_representative,
        "contact_person": org.contact_person, "phone": org.phone, "email": org.email,
        "budget_funded": "yes" if org.budget_funded else "no",
        "declares_independent_liability": "y", "declares_sound_accounts": "y",
        "declares_tax_social_insurance": "y", "declares_no_major_violation": "y",
    }


def _suspended(session, officer, county="371321"):
    org = factories.organization(county, status="verified", officer_user=officer)
    today = services.local_today(current_app.config["TIMEZONE"])
    services.suspend(session, org, officer=officer, reason="列入失信名单", until=today + timedelta(days=30),
                     today=today)
    session.commit()
    return org


def test_suspension_records_who_imposed_it_and_for_which_county(session):
    officer = factories.officer("371321")
    org = _suspended(session, officer)
    assert org.suspended_by_id == officer.id
    assert org.suspended_by_county_id == factories.county("371321").id


def test_a_suspended_organization_cannot_move_to_another_county(session):
    officer = factories.officer("371321")
    org = _suspended(session, officer)
    with pytest.raises(services.DomainError):
        services.update(session, org, _data_of(org, county=factories.county("371302")), actor=_admin_of(org))
    session.rollback()
    session.refresh(org)
    assert org.status == OrgStatus.SUSPENDED and org.county.code == "371321"


def test_only_the_imposing_county_or_an_admin_lifts_a_suspension_wherever_the_organization_is(client, session):
    imposing = factories.officer("371321", email="imposing@example.com")
    new_county = factories.officer("371302", email="newcounty@example.com")
    admin = factories.admin(email="root@example.com")
    org = _suspended(session, imposing)
    # However it got there (data from before, an admin's correction), the
    # organization now sits in another county: that county cannot lift it.
    org.county_id = factories.county("371302").id
    session.commit()
    assert not policy.can_lift_suspension(new_county, org)
    assert policy.can_lift_suspension(imposing, org)
    assert policy.can_lift_suspension(admin, org)

    login(client, "newcounty@example.com", factories.PASSWORD)
    response = client.post(f"/manage/organizations/{org.id}/lift",
                           data={"csrf_token": csrf_token(client, "/manage/organizations")})
    assert response.status_code == 403
    session.refresh(org)
    assert org.status == OrgStatus.SUSPENDED

    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "root@example.com", factories.PASSWORD)
    response = client.post(f"/manage/organizations/{org.id}/lift",
                           data={"csrf_token": csrf_token(client, "/manage/organizations")})
    assert response.status_code == 302
    session.refresh(org)
    assert org.status == OrgStatus.VERIFIED and org.suspended_by_county_id is None


def test_the_imposing_county_lifts_the_suspension_through_the_web(client, session):
    imposing = factories.officer("371321", email="imposing@example.com")
    org = _suspended(session, imposing)
    org.county_id = factories.county("371302").id
    session.commit()
    login(client, "imposing@example.com", factories.PASSWORD)
    assert client.get(f"/manage/organizations/{org.id}").status_code == 200
    response = client.post(f"/manage/organizations/{org.id}/lift",
                           data={"csrf_token": csrf_token(client, "/manage/organizations")})
    assert response.status_code == 302
    session.refresh(org)
    assert org.status == OrgStatus.VERIFIED
