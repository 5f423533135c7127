"""Reads of organizations."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, case, func, not_, or_, select
from sqlalchemy.orm import Session

from procure.accounts.models import ORG_ROLES, RoleAssignment
from procure.organizations.models import (
    NOT_ELIGIBLE_TYPES,
    PUBLIC_STATUSES,
    Invitation,
    Organization,
    OrganizationDocument,
    OrgStatus,
    OrgType,
)

# Queue order: what needs a decision first, flagged ones first, oldest first.
REVIEW_STATUSES = (OrgStatus.PENDING, OrgStatus.NEEDS_INFO)


def legally_eligible():
    """SQL twin of the type rules of ``services.bid_eligibility``: neither a type
    the law excludes nor a budget-funded mass organization (MoF Order 102).
    Status (verified, suspended) is the caller's condition."""
    return and_(
        Organization.org_type.not_in(sorted(NOT_ELIGIBLE_TYPES, key=lambda t: t.value)),
        not_(and_(Organization.budget_funded.is_(True),
                  or_(Organization.mass_org_affiliate.is_(True), Organization.org_type == OrgType.MASS_ORG_ORGAN))),
    )


def membership_of(user) -> RoleAssignment | None:
    """The user's organization role assignment (a user belongs to at most one
    organization), or None. A fact about the account, not a permission: the
    policy (``policy.org_membership``) adds that the user is signed in and confirmed."""
    for assignment in getattr(user, "roles", None) or ():
        if assignment.role in ORG_ROLES and assignment.organization_id is not None:
            return assignment
    return None


def get(session: Session, org_id: int) -> Organization | None:
    return session.get(Organization, org_id)


def by_credit_code(session: Session, code: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.credit_code == code))


def public_get(session: Session, org_id: int) -> Organization | None:
    org = session.get(Organization, org_id)
    return org if org is not None and org.is_public else None


def public_list(session: Session, *, county_id: int | None = None) -> list[Organization]:
    query = select(Organization).where(Organization.status.in_(PUBLIC_STATUSES))
    if county_id is not None:
        query = query.where(Organization.county_id == county_id)
    return list(session.scalars(query.order_by(Organization.county_id, Organization.name)))


def review_queue(session: Session, county_ids: set[int] | None, *, status: str | None = None,
                 limit: int | None = None, offset: int = 0) -> list[Organization]:
    """Organizations of the given counties (None: all) in ``status``, or the
    ones awaiting a decision when no status is given; ``limit``/``offset``: one
    page of them."""
    query = select(Organization)
    if county_ids is not None:
        query = query.where(Organization.county_id.in_(county_ids or {-1}))
    if status:
        query = query.where(Organization.status == status)
    else:
        query = query.where(Organization.status.in_(REVIEW_STATUSES))
    flagged = (
        Organization.flag_not_eligible
        | Organization.flag_budget_funded
        | Organization.flag_mass_organization
        | Organization.flag_code_mismatch
        | Organization.flag_region_mismatch
    )
    query = query.order_by(
        case((Organization.status == OrgStatus.PENDING, 0), else_=1),
        case((flagged, 0), else_=1),
        Organization.submitted_at,
        Organization.id,
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query))


def status_count_statements(county_ids: set[int] | None) -> dict[str, Select]:
    """``status_counts`` as one SELECT of a number per status (to be read with
    other counts in one statement)."""
    statements = {}
    for status in OrgStatus:
        query = select(func.count()).select_from(Organization).where(Organization.status == status)
        if county_ids is not None:
            query = query.where(Organization.county_id.in_(county_ids or {-1}))
        statements[str(status)] = query
    return statements


def status_counts(session: Session, county_ids: set[int] | None) -> dict[str, int]:
    query = select(Organization.status, func.count()).group_by(Organization.status)
    if county_ids is not None:
        query = query.where(Organization.county_id.in_(county_ids or {-1}))
    return {str(status): count for status, count in session.execute(query)}


def document(session: Session, doc_id: int) -> OrganizationDocument | None:
    return session.get(OrganizationDocument, doc_id)


def member_assignment(session: Session, assignment_id: int) -> RoleAssignment | None:
    return session.get(RoleAssignment, assignment_id)


def open_invitations(session: Session, org: Organization) -> list[Invitation]:
    return list(
        session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == org.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.created_at.desc())
        )
    )


def invitation(session: Session, invitation_id: int) -> Invitation | None:
    return session.get(Invitation, invitation_id)


def code_registrations(session: Session, code: str) -> list[Organization]:
    """Every registration that states ``code``: the holder first, then the
    others (unconfirmed or released), oldest first."""
    return list(
        session.scalars(
            select(Organization)
            .where(Organization.credit_code == code)
            .order_by(Organization.code_reserved.desc(), Organization.created_at, Organization.id)
        )
    )


def counties_awaiting_a_reviewer(session: Session):
    """Counties with applications waiting for review (confirmed registrations,
    pending or needing information) but no active county officer: (county, count)."""
    from procure.accounts.models import Role, User
    from procure.geo.models import Division

    has_officer = (
        select(RoleAssignment.id)
        .join(User, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.COUNTY_OFFICER, RoleAssignment.division_id == Division.id,
               User.active.is_(True))
        .exists()
    )
    return list(
        session.execute(
            select(Division, func.count(Organization.id))
            .join(Organization, Organization.county_id == Division.id)
            .where(Organization.status.in_(REVIEW_STATUSES), Organization.confirmed_at.is_not(None), ~has_officer)
            .group_by(Division.id)
            .order_by(Division.code)
        ).all()
    )


@dataclass
class DirectoryFilter:
    q: str = ""  # part of the name or of the credit code
    county_id: int | None = None
    org_type: str = ""
    status: str = ""  # verified / suspended (public statuses only)


@dataclass
class DirectoryPage:
    items: list[Organization]
    total: int
    page: int
    pages: int


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def directory_page(session: Session, flt: DirectoryFilter, *, page: int = 1, per_page: int = 50) -> DirectoryPage:
    """One page of the public directory (verified and suspended organizations),
    filtered and searched in SQL; a page past the end shows the last one."""
    query = select(Organization).where(Organization.status.in_(PUBLIC_STATUSES))
    for term in flt.q.split():
        pattern = _like(term.lower())
        query = query.where(
            func.lower(Organization.name).like(pattern, escape="\\")
            | func.lower(Organization.credit_code).like(pattern, escape="\\")
        )
    if flt.county_id is not None:
        query = query.where(Organization.county_id == flt.county_id)
    if flt.org_type:
        query = query.where(Organization.org_type == flt.org_type)
    if flt.status:
        query = query.where(Organization.status == flt.status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = list(session.scalars(
        query.order_by(Organization.name, Organization.id).limit(per_page).offset((page - 1) * per_page)
    ))
    return DirectoryPage(items=items, total=total, page=page, pages=pages)


def waiting_count(session: Session, county_ids: set[int]) -> int:
    """Applications waiting for a first decision (pending) in these counties,
    counting only confirmed registrations (the officers hear of no other)."""
    if not county_ids:
        return 0
    return session.scalar(waiting_count_statement(county_ids)) or 0


def waiting_count_statement(county_ids: set[int]):
    """The SELECT of ``waiting_count`` (also combined with the navbar's other counts)."""
    return select(func.count()).select_from(Organization).where(
        Organization.county_id.in_(county_ids), Organization.status == OrgStatus.PENDING,
        Organization.confirmed_at.is_not(None),
    )
