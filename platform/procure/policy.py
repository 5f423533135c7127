"""Who may do what: every permission check of the application lives here.

Views call these functions (or ``require``) instead of testing roles
themselves, so the rules can be read, and audited, in one place.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import abort

from procure.accounts.models import Role
from procure.organizations.queries import membership_of

if TYPE_CHECKING:
    from procure.accounts.models import User
    from procure.catalog.models import Catalog
    from procure.organizations.models import Organization


def _authenticated(user) -> bool:
    """A signed-in user with a confirmed email (an unconfirmed user may do
    nothing but confirm; see procure.accounts.gate)."""
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "email_confirmed_at", None) is not None
    )


def is_admin(user: User | None) -> bool:
    return _authenticated(user) and user.has_role(Role.PLATFORM_ADMIN)


def officer_county_ids(user: User | None) -> set[int]:
    if not _authenticated(user):
        return set()
    return {r.division_id for r in user.roles if r.role == Role.COUNTY_OFFICER and r.division_id}


def officer_county_codes(user: User | None) -> set[str]:
    if not _authenticated(user):
        return set()
    return {r.division.code for r in user.roles if r.role == Role.COUNTY_OFFICER and r.division is not None}


def is_officer(user: User | None) -> bool:
    return bool(officer_county_ids(user))


def can_list_users(user: User | None) -> bool:
    return is_admin(user)


def can_manage_officials(user: User | None) -> bool:
    """Appoint and disable county and township officers: the platform admin."""
    return is_admin(user)


def can_manage_county_catalog(user: User | None, county_id: int) -> bool:
    """County officers own their county's catalog; nobody else edits it."""
    return county_id in officer_county_ids(user)


def can_import_catalogs(user: User | None) -> bool:
    """The import template and the import page's help: county officers (of any
    county) and the platform admin, who bulk-loads catalogs from the command line."""
    return is_officer(user) or is_admin(user)


def can_browse_public_catalog(catalog: Catalog) -> bool:
    """The public pages show published and superseded versions to everyone and
    drafts to nobody, not even their officers (they preview drafts in the
    management pages), so a public URL never leaks a draft."""
    return catalog.is_public


def can_edit_catalog(user: User | None, catalog: Catalog) -> bool:
    return catalog.is_draft and can_manage_county_catalog(user, catalog.county_id)


def belongs_to_catalog(record, catalog: Catalog) -> bool:
    """``record`` (a category or item) exists and is part of ``catalog``; a
    category or item of another catalog is hidden (404) from its pages."""
    return record is not None and record.catalog_id == catalog.id


def can_read_notification(user: User | None, notification) -> bool:
    """A notification is visible to its recipient only; others get a 404."""
    return notification is not None and _authenticated(user) and notification.recipient_user_id == user.id


# --- organizations -------------------------------------------------------------


def org_membership(user: User | None):
    """The signed-in user's RoleAssignment in an organization (org_admin / org_member), or None."""
    return membership_of(user) if _authenticated(user) else None


def is_org_member(user: User | None, organization: Organization | None) -> bool:
    membership = org_membership(user)
    return organization is not None and membership is not None and membership.organization_id == organization.id


def is_org_admin(user: User | None, organization: Organization | None) -> bool:
    membership = org_membership(user)
    return is_org_member(user, organization) and membership.role == Role.ORG_ADMIN


def can_register_organization(user: User | None) -> bool:
    """Anyone may register an organization; a signed-in user only while they
    belong to none and hold no officer or admin role."""
    if not _authenticated(user):
        return True
    return org_membership(user) is None and not user.roles


def can_view_organization_private(user: User | None, organization: Organization) -> bool:
    """Contacts, documents, review history: the organization's members, officers
    of its home county (and of the county that suspended it), platform admins.
    Never the public."""
    counties = officer_county_ids(user)
    return (
        is_org_member(user, organization)
        or organization.county_id in counties
        or (organization.suspended_by_county_id is not None and organization.suspended_by_county_id in counties)
        or is_admin(user)
    )


def can_view_public_organization(organization: Organization | None) -> bool:
    """Only verified and suspended organizations have a public page; pending,
    needs-info and rejected applicants stay private (404)."""
    return organization is not None and organization.is_public


def can_manage_organization(user: User | None, organization: Organization) -> bool:
    """Edit the profile, upload documents, invite and remove members."""
    return is_org_admin(user, organization)


def belongs_to_organization(record, organization: Organization) -> bool:
    """``record`` (a document, invitation or membership) exists and is ``organization``'s;
    anything else is hidden (404) from the organization's pages."""
    return record is not None and record.organization_id == organization.id


def can_view_review_queue(user: User | None) -> bool:
    return is_officer(user) or is_admin(user)


def review_county_ids(user: User | None) -> set[int] | None:
    """The counties whose applications the user's review queue lists: every
    county (None) for a platform admin, else the officer's own."""
    return None if is_admin(user) else officer_county_ids(user)


def is_or_was_member(user: User | None, organization: Organization | None) -> bool:
    """Whether the user belongs, or ever belonged, to the organization (every
    ended membership is kept as a FormerMembership)."""
    if organization is None or user is None or not getattr(user, "is_authenticated", False):
        return False
    if any(r.organization_id == organization.id for r in user.roles if r.organization_id is not None):
        return True
    return any(m.organization_id == organization.id for m in user.former_memberships)


def can_review_organization(user: User | None, organization: Organization) -> bool:
    """Approve, reject, ask for information, suspend: officers of the home
    county only, and never one who is or was a member of the organization."""
    return organization.county_id in officer_county_ids(user) and not is_or_was_member(user, organization)


def suspending_county_id(organization: Organization) -> int | None:
    """The county whose officers imposed the running suspension (older rows
    without it: the home county)."""
    return organization.suspended_by_county_id or organization.county_id


def can_lift_suspension(user: User | None, organization: Organization) -> bool:
    """A suspension is lifted by the officers of the county that imposed it,
    wherever the organization is now, or by a platform admin; never by someone
    who is or was a member of the organization."""
    if is_or_was_member(user, organization):
        return False
    return is_admin(user) or suspending_county_id(organization) in officer_county_ids(user)


def can_look_up_credit_codes(user: User | None) -> bool:
    """The "who holds this credit code" page: county officers and platform admins."""
    return is_officer(user) or is_admin(user)


def can_see_code_holder(user: User | None, organization: Organization) -> bool:
    """Details of a registration found by its code: officers of its home county
    or of the county whose office issued the code (chars 3–8 of the code, where
    the real organization turns to), and platform admins."""
    if is_admin(user):
        return True
    if organization.county_id in officer_county_ids(user):
        return True
    return organization.credit_code[2:8] in officer_county_codes(user)


def can_release_code(user: User | None, organization: Organization) -> bool:
    """Release the code a registration holds: whoever may see its holder, never a
    current or former member, and only while it is not verified or suspended."""
    return (
        organization.code_reserved
        and not organization.is_public
        and can_see_code_holder(user, organization)
        and not is_or_was_member(user, organization)
    )


# --- follows, email preferences, the email outbox ------------------------------


def can_view_follows(user: User | None, organization: Organization | None) -> bool:
    """What the organization follows: its members."""
    return is_org_member(user, organization)


def can_manage_follows(user: User | None, organization: Organization | None) -> bool:
    """Follow and unfollow categories and counties: the organization's admins."""
    return is_org_admin(user, organization)


def can_manage_email_outbox(user: User | None) -> bool:
    """See emails that failed for good (with the error) and send them again:
    the platform admin (the outbox holds every user's mail)."""
    return is_admin(user)


def can_see_undeliverable(user: User | None, organization: Organization | None) -> bool:
    """Which addresses of an organization (members, contact) the mail server
    refused: its admins and the officers who see its private page."""
    return organization is not None and (
        is_org_admin(user, organization)
        or organization.county_id in officer_county_ids(user)
        or is_admin(user)
    )


def require(allowed: bool, *, hide: bool = False) -> None:
    """Abort unless ``allowed``: 404 when the thing must stay hidden, else 403."""
    if not allowed:
        abort(404 if hide else 403)


# --- working calendar ----------------------------------------------------------


def can_manage_workdays(user: User | None) -> bool:
    """Enter a year's official holidays and make-up workdays: platform admins."""
    return is_admin(user)


# --- tenders and bids ------------------------------------------------------------
#
# Sealed bids: no function here lets an officer or an admin read a bid, its
# price, or the number of bids of a tender before the opening; the pages that
# show bids are the bidding organization's own (``can_manage_bid``) and the
# public opening record (``can_view_opening_record``).


def township_ids(user: User | None) -> set[int]:
    """The townships a township officer works for."""
    if not _authenticated(user):
        return set()
    return {r.division_id for r in user.roles if r.role == Role.TOWNSHIP_OFFICER and r.division_id}


def township_county_ids(user: User | None) -> set[int]:
    """The counties of the townships a township officer works for."""
    if not _authenticated(user):
        return set()
    return {r.division.parent_id for r in user.roles
            if r.role == Role.TOWNSHIP_OFFICER and r.division is not None and r.division.parent_id}


def is_township_officer(user: User | None) -> bool:
    return bool(township_ids(user))


def can_draft_tender(user: User | None, township) -> bool:
    """County officers draft for every township of their county; a township
    officer drafts for their own township (a county officer publishes)."""
    if township is None:
        return False
    return township.id in township_ids(user) or township.parent_id in officer_county_ids(user)


def can_manage_tender(user: User | None, tender) -> bool:
    """See the management page and edit a draft."""
    if tender.county_id in officer_county_ids(user):
        return True
    return tender.status == "draft" and tender.township_id in township_ids(user)


def can_publish_tender(user: User | None, tender) -> bool:
    """Publish, amend, cancel, answer questions: county officers of the county."""
    return tender.county_id in officer_county_ids(user)


def can_view_public_tender(tender) -> bool:
    """Every tender but a draft has public notices."""
    return tender is not None and tender.status != "draft"


def can_view_opening_record(tender) -> bool:
    return tender.opened_at is not None and tender.status in ("opened", "failed", "cancelled", "evaluating", "awarded", "contracted", "evaluated")


def can_ask_question(user: User | None, organization, *, today) -> bool:
    """Members of a verified organization that may bid (today, a local date)."""
    from procure.organizations.services import bid_eligibility

    return is_org_member(user, organization) and bid_eligibility(organization, today=today)[0]


def can_manage_bid(user: User | None, bid) -> bool:
    """Only the bidding organization's members ever see or change its bid."""
    return bid is not None and is_org_member(user, bid.organization)


# --- evaluation, award, challenges, contracts ------------------------------------


def can_manage_evaluation(user: User | None, county_id: int) -> bool:
    """The tender's county officers form the committee, award, answer
    challenges and record contracts."""
    return county_id in officer_county_ids(user)


def committee_membership(user: User | None, evaluation):
    """The user's active seat on the evaluation's committee, or None: an
    evaluator sees only the evaluations they are assigned to."""
    if not _authenticated(user) or evaluation is None:
        return None
    for member in evaluation.members:
        if member.user_id == user.id and member.active:
            return member
    return None


def can_see_bids_in_evaluation(member) -> bool:
    """A member sees the bids only after declaring no conflict of interest."""
    from procure.evaluation.models import MemberStatus

    return member is not None and member.status == MemberStatus.DECLARED


def can_view_comparison(user: User | None, evaluation, county_id: int) -> bool:
    """Officers of the county; members once their own sheet is submitted (never
    another's scores before their own are in)."""
    if can_manage_evaluation(user, county_id):
        return True
    member = committee_membership(user, evaluation)
    return member is not None and member.sheet_submitted_at is not None


def organization_id_of(user: User | None) -> int | None:
    """The organization the user belongs to (member or administrator), or None."""
    membership = org_membership(user)
    return membership.organization_id if membership is not None else None


def can_file_challenge(user: User | None) -> bool:
    """Challenges are filed by suppliers: members of an organization (the
    service checks that process and result challenges come from bidders)."""
    return organization_id_of(user) is not None


def can_view_challenge(user: User | None, challenge) -> bool:
    """The challenging organization's members and the county's officers;
    hidden (404) from everyone else."""
    if challenge is None:
        return False
    return organization_id_of(user) == challenge.organization_id or challenge.county_id in officer_county_ids(user)


def can_answer_challenge(user: User | None, challenge) -> bool:
    return challenge is not None and challenge.county_id in officer_county_ids(user)


def can_view_officer_lists(user: User | None) -> bool:
    """Challenges to answer, contracts due: any county officer (their own counties)."""
    return is_officer(user)


def can_record_performance(user: User | None, tender) -> bool:
    """The purchaser: the county's officers and the officers of the purchasing township."""
    if tender.county_id in officer_county_ids(user):
        return True
    return _authenticated(user) and any(
        r.role == Role.TOWNSHIP_OFFICER and r.division_id == tender.township_id for r in user.roles
    )


def is_evaluator(user: User | None) -> bool:
    return _authenticated(user) and user.has_role(Role.EVALUATOR)
