"""Reads of users."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from procure.accounts.models import User


def by_session_token(session: Session, token: str) -> User | None:
    return session.scalar(select(User).where(User.session_token == token))


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
