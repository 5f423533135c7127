"""Reads of users."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from procure.accounts.models import LoginSession, User, hash_login_token


def by_login_token(session: Session, token: str) -> User | None:
    """The active user of the open (not revoked) login session ``token``."""
    if not token or len(token) > 128:
        return None
    return session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == hash_login_token(token),
            LoginSession.revoked_at.is_(None),
            User.active.is_(True),
        )
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
