"""Budget-funded mass organizations are not eligible (MoF Order 102); the credit
code's region (characters 3–8) is checked against the chosen county."""
from __future__ import annotations

from datetime import date

import pytest

from procure.errors import DomainError
from procure.organizations import services
from procure.organizations.models import OrgStatus
from tests import factories
from tests.conftest import login


def test_a_budget_funded_mass_organization_cannot_be_approved(session):
    officer = factories.officer("371321")
    org = factories.organization("371321", status="pending", budget_funded=True, mass_org_affiliate=True)
    with pytest.raises(DomainError, match="财政拨款保障的群团组织不能作为承接主体"):
        services.approve(session, org, officer=officer)
    session.rollback()
    assert org.status == OrgStatus.PENDING
    eligible, why = services.bid_eligibility(org, today=date(2026, 11, 28))
    assert not eligible and "财政拨款保障的群团组织" in why


def test_a_mass_organization_affiliate_not_budget_funded_is_reviewed_and_may_be_approved(session):
    officer = factories.officer("371321")
    org = factories.organization("371321", status="pending", budget_funded=False, mass_org_affiliate=True)
    assert "mass_organization" in org.flags  # manual review
    services.approve(session, org, officer=officer)
    assert services.bid_eligibility(org, today=date(2026, 11, 28)) == (True, "")


def test_bid_eligibility_says_why_even_for_a_verified_one(session):
    """An organization verified before it attested budget funding (or edited since)."""
    org = factories.organization("371321", status="verified", mass_org_affiliate=True)
    org.budget_funded = True
    eligible, why = services.bid_eligibility(org, today=date(2026, 11, 28))
    assert not eligible and "依法不能承接" in why


@pytest.mark.parametrize(
    ("region", "flagged"),
    [("371321", False), ("371300", False), ("370000", False), ("371302", True), ("110105", True)],
    ids=["county", "its city", "its province", "another county", "another province"],
)
def test_region_of_the_credit_code(session, region, flagged):
    code = factories.credit_code("52", region)
    org = factories.organization("371321", status="pending", credit_code=code)
    assert org.flag_region_mismatch is flagged
    assert ("region_mismatch" in org.flags) is flagged


def test_the_officer_sees_the_region_flag(client, session):
    factories.officer("371321", email="o@example.com")
    org = factories.organization("371321", status="pending", credit_code=factories.credit_code("52", "371302"))
    login(client, "o@example.com", factories.PASSWORD)
    review = client.get(f"/manage/organizations/{org.id}").get_data(as_text=True)
    assert 'data-flag="region_mismatch"' in review and "371302" in review
    queue = client.get("/manage/organizations").get_data(as_text=True)
    assert "代码登记地不在所选区县" in queue


def test_editing_the_county_recomputes_the_region_flag(session):
    org = factories.organization("371321", status="pending", credit_code=factories.credit_code("52", "371302"))
    assert org.flag_region_mismatch
    admin = org_admin(session, org)
    data = factories.org_data("371302", credit_code=org.credit_code, name=org.name, email=org.email)
    services.update(session, org, data, actor=admin)
    assert not org.flag_region_mismatch


def org_admin(session, org):
    return services.admin_assignments(session, org)[0].user
