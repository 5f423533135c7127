"""Who may do what: every permission check of the application lives here.

Views call these functions (or ``require``) instead of testing roles
themselves, so the rules can be read, and audited, in one place.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import abort

from procure.accounts.models import Role

if TYPE_CHECKING:
    from procure.accounts.models import User
    from procure.catalog.models import Catalog


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


def is_officer(user: User | None) -> bool:
    return bool(officer_county_ids(user))


def township_ids(user: User | None) -> set[int]:
    """The townships a township officer works for."""
    if not _authenticated(user):
        return set()
    return {r.division_id for r in user.roles if r.role == Role.TOWNSHIP_OFFICER and r.division_id}


def township_county_ids(user: User | None) -> set[int]:
    """The counties of the townships a township officer works for."""
    if not _authenticated(user):
        return set()
    return {
        r.division.parent_id
        for r in user.roles
        if r.role == Role.TOWNSHIP_OFFICER and r.division is not None and r.division.parent_id
    }


def is_township_officer(user: User | None) -> bool:
    return bool(township_ids(user))


def can_act_for_township(user: User | None, township) -> bool:
    """Township officers act for their own township; the county's officers
    act for every township of their county."""
    if township is None:
        return False
    return township.id in township_ids(user) or township.parent_id in officer_county_ids(user)


def can_list_users(user: User | None) -> bool:
    return is_admin(user)


def can_manage_county_catalog(user: User | None, county_id: int) -> bool:
    """County officers own their county's catalog; nobody else edits it."""
    return county_id in officer_county_ids(user)


def can_view_catalog(user: User | None, catalog: Catalog) -> bool:
    if catalog.is_public:
        return True
    return can_manage_county_catalog(user, catalog.county_id)


def can_browse_public_catalog(catalog: Catalog) -> bool:
    """The public pages show published and superseded versions to everyone and
    drafts to nobody, not even their officers (they preview drafts in the
    management pages), so a public URL never leaks a draft."""
    return catalog.is_public


def can_edit_catalog(user: User | None, catalog: Catalog) -> bool:
    return catalog.is_draft and can_manage_county_catalog(user, catalog.county_id)


def can_read_notification(user: User | None, notification) -> bool:
    """A notification is visible to its recipient only; others get a 404."""
    return notification is not None and _authenticated(user) and notification.recipient_user_id == user.id


def require(allowed: bool, *, hide: bool = False) -> None:
    """Abort unless ``allowed``: 404 when the thing must stay hidden, else 403."""
    if not allowed:
        abort(404 if hide else 403)
