"""Users and their role assignments.

A user holds any number of role assignments; each assignment names its scope
(a county, a township, later an organization or a tender). Permission checks
live in ``procure.policy`` and read these assignments.
"""
from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.extensions import db
from procure.geo.models import Division
from procure.timeutil import utcnow

if TYPE_CHECKING:
    from procure.organizations.models import FormerMembership, Organization


class Role(enum.StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    COUNTY_OFFICER = "county_officer"
    TOWNSHIP_OFFICER = "township_officer"
    ORG_ADMIN = "org_admin"
    ORG_MEMBER = "org_member"
    EVALUATOR = "evaluator"


# Roles that decide about organizations (and bids): separation of duties keeps
# whoever holds one out of every organization.
OFFICIAL_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER, Role.EVALUATOR})
ORG_ROLES = (Role.ORG_ADMIN, Role.ORG_MEMBER)


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    # Rotated on password change (reset links of the old password die with it).
    # Signed-in browsers are LoginSession records, not this token.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    active: Mapped[bool] = mapped_column(default=True)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locale: Mapped[str | None] = mapped_column(String(8))
    # 大字版: the pages are shown with larger text (an accessibility setting).
    large_text: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    # Organizations the user belonged to before (loaded only when a policy
    # question about an organization needs them).
    former_memberships: Mapped[list[FormerMembership]] = relationship(
        "FormerMembership", lazy="select", viewonly=True, order_by="FormerMembership.id"
    )

    # The token of the LoginSession this request runs under (set by the user
    # loader, or when a login starts one); not a column.
    login_token = None  # str | None

    # Flask-Login: the session (and the remember cookie) store the token of a
    # revocable LoginSession record, never the primary key.
    def get_id(self) -> str:
        return self.login_token or ""

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def has_role(self, role: Role) -> bool:
        return any(r.role == role for r in self.roles)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class RoleAssignment(db.Model):
    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "division_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])
    )
    # County for county officers, township for township officers.
    division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)
    # The organization of org admins and org members (migration 0003).
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")
    division: Mapped[Division | None] = relationship(lazy="joined")
    organization: Mapped[Organization | None] = relationship(lazy="joined")


def hash_login_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginSession(db.Model):
    """One signed-in browser. Its random token is what the session cookie (and
    the remember-me cookie) holds; only its SHA-256 is stored. Logging out
    revokes the record, so a copy of the cookie taken before is useless;
    a password change or disabling the account revokes every record of the
    user (migration 0006)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()
