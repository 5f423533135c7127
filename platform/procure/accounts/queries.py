"""Reads of users."""
from __future__ import annotations

import functools

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from procure.accounts.models import LoginSession, Role, RoleAssignment, User, hash_login_token


def by_login_token(session: Session, token: str) -> User | None:
    """The active user of the open (not revoked) login session ``token``."""
    if not token or len(token) > 128:
        return None
    return session.scalars(_by_login_token(), {"token_hash": hash_login_token(token)}).unique().first()


@functools.cache
def _by_login_token():
    """One statement on every signed-in request: the user with their roles (and
    the roles' division and organization) joined, not a second SELECT. Built
    once (building it took longer than running it)."""
    return (
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == bindparam("token_hash"),
            LoginSession.revoked_at.is_(None),
            User.active.is_(True),
        )
        .options(joinedload(User.roles))
    )


def by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def all_users(session: Session, *, query: str = "") -> list[User]:
    """Every user (for the platform admin's list), newest first; ``query``
    filters by a part of the email or name."""
    statement = select(User).order_by(User.created_at.desc(), User.id.desc())
    query = query.strip().lower()
    if query:
        pattern = f"%{query}%"
        statement = statement.where(User.email.like(pattern) | User.name.like(pattern))
    return list(session.scalars(statement))


def officials(session: Session) -> list[tuple[User, RoleAssignment]]:
    """Every county and township officer assignment with its user, by division code."""
    from procure.geo.models import Division

    return list(
        session.execute(
            select(User, RoleAssignment)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .join(Division, RoleAssignment.division_id == Division.id)
            .where(RoleAssignment.role.in_((Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER)))
            .options(selectinload(RoleAssignment.division))
            .order_by(Division.code, User.email)
        ).all()
    )


def active_officer_count(session: Session, county_id: int) -> int:
    """Active county officers of a county (its reviewers)."""
    return session.scalar(
        select(func.count()).select_from(RoleAssignment).join(User, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.COUNTY_OFFICER, RoleAssignment.division_id == county_id,
               User.active.is_(True))
    ) or 0
