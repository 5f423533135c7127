"""The demo organizations: valid codes, the intended states, idempotent."""
from datetime import date

from sqlalchemy import func, select
from stdnum.cn import uscc

from procure.demo.organizations import DEMO_ORGS, DEMO_PASSWORD, load_demo_organizations
from procure.organizations.models import Organization, OrgStatus
from procure.organizations.services import bid_eligibility
from tests import factories
from tests.conftest import login


def test_demo_organizations(app, client, session):
    factories.officer(email="officer@yinan.example.com")
    report = load_demo_organizations(session)
    session.commit()
    assert len(report) == len(DEMO_ORGS) == 6
    orgs = {o.credit_code: o for o in session.scalars(select(Organization))}
    statuses = sorted(o.status.value for o in orgs.values())
    assert statuses == ["pending", "rejected", "verified", "verified", "verified", "verified"]
    for demo in DEMO_ORGS:
        org = orgs[demo.credit_code]
        assert uscc.is_valid(demo.credit_code)
        assert org.county.code == "371321" and not org.flag_code_mismatch
        assert bid_eligibility(org, today=date.today())[0] is (demo.status == "verified")
        assert len(org.documents) == 1
    volunteers = next(o for o in orgs.values() if o.name == "沂南县青年志愿者协会")
    assert volunteers.mass_org_affiliate and "mass_organization" in volunteers.undertaker_types
    rejected = next(o for o in orgs.values() if o.status == OrgStatus.REJECTED)
    assert "财政部令第102号" in rejected.status_reason

    # Idempotent.
    again = load_demo_organizations(session)
    session.commit()
    assert all(line.endswith("(already present)") for line in again)
    assert session.scalar(select(func.count()).select_from(Organization)) == 6

    login(client, "socialwork@demo.example.com", DEMO_PASSWORD)
    assert "已认证" in client.get("/organizations/mine").get_data(as_text=True)
