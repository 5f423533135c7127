"""Permission rules tested directly in ``procure.policy`` (not only through views)."""
from __future__ import annotations

from procure import policy
from procure.accounts.models import Role
from tests import factories


def test_an_unconfirmed_email_grants_nothing(session):
    """Every role counts only once the email is confirmed."""
    from procure.catalog.models import Catalog, CatalogStatus

    county = factories.county("371321")
    draft = Catalog(county_id=county.id, year=2026, version=1, status=CatalogStatus.DRAFT, title="t")
    org = factories.organization("371321", status="pending")
    for confirmed in (True, False):
        officer = factories.user(Role.COUNTY_OFFICER, "371321", confirmed=confirmed)
        admin = factories.user(Role.PLATFORM_ADMIN, confirmed=confirmed)
        member = factories.org_member(org, admin=True, confirmed=confirmed)
        assert policy.is_officer(officer) is confirmed
        assert policy.officer_county_ids(officer) == ({county.id} if confirmed else set())
        assert policy.can_manage_county_catalog(officer, county.id) is confirmed
        assert policy.can_edit_catalog(officer, draft) is confirmed
        assert policy.can_review_organization(officer, org) is confirmed
        assert policy.is_admin(admin) is confirmed
        assert policy.can_list_users(admin) is confirmed
        assert policy.can_view_review_queue(admin) is confirmed
        assert (policy.org_membership(member) is not None) is confirmed
        assert policy.can_manage_organization(member, org) is confirmed
        assert policy.can_view_organization_private(member, org) is confirmed


def test_an_officer_reviews_only_the_organizations_of_their_own_county(session):
    org = factories.organization("371321", status="pending")
    own = factories.officer("371321")
    other = factories.officer("371302")
    assert policy.can_review_organization(own, org)
    assert not policy.can_review_organization(other, org)
    assert not policy.can_view_organization_private(other, org)
    assert not policy.can_review_organization(factories.admin(), org)  # admins see, officers decide


def test_records_of_another_organization_or_catalog_do_not_belong(session):
    mine = factories.organization("371321", status="pending")
    theirs = factories.organization("371321", status="pending")
    member = factories.org_member(mine)
    assignment = next(r for r in member.roles if r.organization_id == mine.id)
    assert policy.belongs_to_organization(assignment, mine)
    assert not policy.belongs_to_organization(assignment, theirs)
    assert not policy.belongs_to_organization(None, mine)
    catalog = factories.catalog_with_items("371321", 2026)
    other = factories.catalog_with_items("371302", 2026)
    assert policy.belongs_to_catalog(catalog.items[0], catalog)
    assert not policy.belongs_to_catalog(catalog.items[0], other)
