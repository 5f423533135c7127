"""Separation of duties: who decides about organizations (officers, township
officers, evaluators, admins) is never a member of one, and nobody decides
about an organization they belong to or belonged to."""
import pytest
from sqlalchemy import select

from procure import policy
from procure.accounts import services as account_services
from procure.accounts.models import Role, RoleAssignment
from procure.errors import DomainError
from procure.organizations import services
from procure.organizations.models import FormerMembership, OrgStatus
from tests import factories
from tests.conftest import csrf_token, login

OFFICIALS = {
    "county_officer": lambda email: factories.officer("371321", email=email),
    "township_officer": lambda email: factories.township_officer("371321101", email=email),
    "evaluator": lambda email: factories.user(Role.EVALUATOR, email=email),
    "admin": lambda email: factories.admin(email=email),
}


@pytest.fixture
def org(session):
    admin = factories.user(email="chief@org.example.com")
    return factories.organization("371321", status="pending", admin_user=admin)


@pytest.mark.parametrize("role", sorted(OFFICIALS))
def test_an_official_cannot_accept_an_invitation(client, session, org, role):
    official = OFFICIALS[role]("official@example.com")
    # The invitation was sent before the address was an official's (or the
    # inviter did not know): accepting it is refused with a clear message.
    invitation, token = services.invite(session, org, email="someone@example.com",
                                        invited_by=services.admin_assignments(session, org)[0].user, timezone="Asia/Shanghai")
    invitation.email = "official@example.com"
    session.commit()
    login(client, "official@example.com", factories.PASSWORD)
    path = f"/organizations/invitations/{token}"
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 400
    assert "不能同时成为机构的成员" in response.get_data(as_text=True)
    session.expire_all()
    assert policy.org_membership(official) is None
    assert invitation.accepted_at is None


def test_inviting_an_official_is_refused(session, org):
    factories.officer("371321", email="officer@example.com")
    with pytest.raises(DomainError, match="不能成为机构成员"):
        services.invite(session, org, email="officer@example.com",
                        invited_by=services.admin_assignments(session, org)[0].user, timezone="Asia/Shanghai")


@pytest.mark.parametrize("role,division", [(Role.COUNTY_OFFICER, "371321"), (Role.TOWNSHIP_OFFICER, "371321101"),
                                           (Role.EVALUATOR, None), (Role.PLATFORM_ADMIN, None)])
def test_granting_an_official_role_to_a_member_is_refused(session, org, role, division):
    member = factories.org_member(org)
    from procure.geo import queries as geo_queries

    with pytest.raises(DomainError, match="不能同时担任"):
        account_services.grant_role(session, member, role,
                                    geo_queries.by_code(session, division) if division else None)
    session.rollback()
    assert {r.role for r in member.roles} == {Role.ORG_MEMBER}


def test_cli_refuses_to_make_a_member_an_officer(app, session, org):
    member = factories.org_member(org, email="member@example.com")
    result = app.test_cli_runner().invoke(
        args=["users", "create-officer", "--county", "371321", "--email", "member@example.com",
              "--password", factories.PASSWORD], input=f"{factories.PASSWORD}\n{factories.PASSWORD}\n",
    )
    assert result.exit_code != 0
    session.expire_all()
    assert not policy.is_officer(member) and {r.role for r in member.roles} == {Role.ORG_MEMBER}


def test_removing_a_member_keeps_the_membership_history(session, org):
    member = factories.org_member(org)
    assignment = next(r for r in member.roles if r.organization_id == org.id)
    services.remove_member(session, org, assignment, actor=services.admin_assignments(session, org)[0].user)
    session.commit()
    [record] = session.scalars(select(FormerMembership)).all()
    assert (record.user_id, record.organization_id, record.role) == (member.id, org.id, "org_member")


def _former_member_turned_officer(session, org, email="turned@example.com"):
    member = factories.org_member(org, email=email)
    assignment = next(r for r in member.roles if r.organization_id == org.id)
    services.remove_member(session, org, assignment, actor=services.admin_assignments(session, org)[0].user)
    account_services.grant_role(session, member, Role.COUNTY_OFFICER, factories.county("371321"))
    session.commit()
    session.expire_all()
    return member


def test_a_former_member_who_became_officer_cannot_decide_about_the_organization(client, session, org):
    turned = _former_member_turned_officer(session, org)
    other = factories.organization("371321", status="pending")
    assert not policy.can_review_organization(turned, org)
    assert policy.can_review_organization(turned, other)  # other organizations of the county: yes

    login(client, "turned@example.com", factories.PASSWORD)
    for action in ("approve", "reject", "request-info"):
        response = client.post(f"/manage/organizations/{org.id}/{action}",
                               data={"csrf_token": csrf_token(client, "/manage/organizations"), "reason": "x"})
        assert response.status_code == 403, action
    session.refresh(org)
    assert org.status == OrgStatus.PENDING


def test_policy_refuses_every_decision_by_a_current_member(session, org):
    # Data from before the rule: an officer of the county who is also a member.
    officer = factories.officer("371321", email="both@example.com")
    session.add(RoleAssignment(user=officer, role=Role.ORG_MEMBER, organization_id=org.id))
    session.commit()
    session.expire_all()
    assert policy.is_or_was_member(officer, org)
    assert not policy.can_review_organization(officer, org)
    assert not policy.can_lift_suspension(officer, org)
    assert not policy.can_release_code(officer, org)


def test_policy_refuses_lifting_and_releasing_by_a_former_member(session, org):
    turned = _former_member_turned_officer(session, org)
    assert not policy.can_lift_suspension(turned, org)
    assert not policy.can_release_code(turned, org)
    assert policy.can_release_code(factories.officer("371321", email="clean@example.com"), org)
