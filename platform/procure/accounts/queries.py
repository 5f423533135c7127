"""Reads of users."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from procure.accounts.models import User


def by_session_token(session: Session, token: str) -> User | None:
    return session.scalar(select(User).where(User.session_token == token))


def by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))
