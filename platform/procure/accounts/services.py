"""State changes for users: creation, roles, passwords."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from procure.accounts.models import Role, RoleAssignment, User, new_session_token
from procure.accounts.passwords import MIN_LENGTH, hash_password, verify_password
from procure.errors import DomainError
from procure.geo.models import Division, DivisionLevel
from procure.timeutil import utcnow


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise DomainError(_l("密码至少需要 %(n)d 个字符。", n=MIN_LENGTH), field="password")


def create_user(session: Session, *, email: str, password: str, name: str = "") -> User:
    email = normalize_email(email)
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise DomainError(_l("该邮箱已注册。"), field="email")
    check_password_strength(password)
    user = User(email=email, name=name, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def grant_role(session: Session, user: User, role: Role, division: Division | None = None) -> RoleAssignment:
    expected = {
        Role.COUNTY_OFFICER: DivisionLevel.COUNTY,
        Role.TOWNSHIP_OFFICER: DivisionLevel.TOWNSHIP,
    }.get(role)
    if expected is not None and (division is None or division.level != expected):
        raise DomainError(f"role {role} needs a division of level {expected}")
    if expected is None and division is not None:
        raise DomainError(f"role {role} takes no division")
    for existing in user.roles:
        if existing.role == role and existing.division_id == (division.id if division else None):
            return existing
    assignment = RoleAssignment(user=user, role=role, division=division)
    session.add(assignment)
    session.flush()
    return assignment


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not verify_password(user.password_hash, password):
        return None
    if not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise DomainError(_l("当前密码不正确。"), field="current_password")
    check_password_strength(new)
    set_password(session, user, new)


def set_password(session: Session, user: User, new: str) -> None:
    check_password_strength(new)
    user.password_hash = hash_password(new)
    # Ends every existing session of this user.
    user.session_token = new_session_token()
    session.flush()
