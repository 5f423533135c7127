"""State changes for users: creation, roles, passwords, email confirmation and
password reset by email."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from procure.accounts import tokens
from procure.accounts.models import (
    OFFICIAL_ROLES,
    ORG_ROLES,
    LoginSession,
    Role,
    RoleAssignment,
    User,
    hash_login_token,
    new_session_token,
)
from procure.accounts.passwords import hash_password, verify_password, weakness
from procure.accounts.tokens import InvalidToken
from procure.errors import DomainError
from procure.geo.models import Division, DivisionLevel
from procure.timeutil import utcnow

CONFIRM_PURPOSE = "account-confirm"
RESET_PURPOSE = "password-reset"
DEFAULT_CONFIRM_MAX_AGE = 48 * 3600
DEFAULT_RESET_MAX_AGE = 3600


def _setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default) if has_app_context() else default


def confirm_max_age() -> int:
    return int(_setting("EMAIL_CONFIRM_MAX_AGE", DEFAULT_CONFIRM_MAX_AGE))


def reset_max_age() -> int:
    return int(_setting("PASSWORD_RESET_MAX_AGE", DEFAULT_RESET_MAX_AGE))


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL under the configured BASE_URL; works without a request
    (CLI, workers), unlike ``url_for(..., _external=True)``."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def normalize_email(email: str) -> str:
    return email.strip().lower()


# === users and roles ========================================================


def check_password_strength(password: str, *, user_inputs=(), field: str = "password") -> None:
    """Raise a DomainError (Chinese message) for a too short, common or guessable password."""
    problem = weakness(password, user_inputs)
    if problem is not None:
        raise DomainError(problem, field=field)


def create_user(session: Session, *, email: str, password: str, name: str = "", confirmed: bool = False) -> User:
    """A new user. ``confirmed`` marks the email as confirmed at once (accounts
    made by an administrator on the command line, demo accounts); everyone
    else confirms through ``send_email_confirmation``/``confirm_email``."""
    email = normalize_email(email)
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise DomainError(_l("该邮箱已注册。"), field="email")
    check_password_strength(password, user_inputs=(email, name))
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        email_confirmed_at=utcnow() if confirmed else None,
    )
    session.add(user)
    session.flush()
    return user


_ROLE_LEVEL = {
    Role.COUNTY_OFFICER: DivisionLevel.COUNTY,
    Role.TOWNSHIP_OFFICER: DivisionLevel.TOWNSHIP,
}


def grant_role(session: Session, user: User, role: Role, division: Division | None = None) -> RoleAssignment:
    """Give ``user`` the ``role``: county officers need a county, township
    officers a township; the other roles take no division. Idempotent."""
    expected = _ROLE_LEVEL.get(role)
    if expected is not None and (division is None or division.level != expected):
        raise DomainError(f"role {role} needs a division of level {expected}")
    if expected is None and division is not None:
        raise DomainError(f"role {role} takes no division")
    if role in OFFICIAL_ROLES and any(r.role in ORG_ROLES for r in user.roles):
        # Separation of duties: who decides about organizations belongs to none.
        raise DomainError(
            _l("该账号是机构的成员，不能同时担任主管部门、评审或平台管理的职务：请先将其移出机构。"), field="email"
        )
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


# === passwords ==============================================================


def change_password(session: Session, user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise DomainError(_l("当前密码不正确。"), field="current_password")
    if hmac.compare_digest(current, new):
        raise DomainError(_l("新密码不能与当前密码相同。"), field="new_password")
    set_password(session, user, new, field="new_password")


def set_large_text(session: Session, user: User, large: bool) -> None:
    """The user's 大字版 (larger text) setting, kept with the account."""
    user.large_text = large
    session.flush()


def set_password(session: Session, user: User, new: str, *, field: str = "password") -> None:
    check_password_strength(new, user_inputs=(user.email, user.name), field=field)
    user.password_hash = hash_password(new)
    # Kills reset links of the old password, and ends every signed-in browser.
    user.session_token = new_session_token()
    revoke_sessions(session, user)
    session.flush()


# === login sessions =========================================================


def start_session(session: Session, user: User) -> str:
    """A new login session (one signed-in browser) of ``user``; returns its
    token, which becomes ``user.get_id()`` (what the cookies hold)."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token_hash=hash_login_token(token)))
    session.flush()
    user.login_token = token
    return token


def end_session(session: Session, token: str | None, user_id: int | None = None) -> None:
    """Revoke the login session ``token`` (logout): every copy of its cookies dies.
    ``user_id``: whose session it is (the page cache then forgets only that
    user's pages, procure.caching)."""
    if not token:
        return
    owner = [LoginSession.user_id == user_id] if user_id is not None else []
    session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == hash_login_token(token), LoginSession.revoked_at.is_(None), *owner)
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def revoke_sessions(session: Session, user: User) -> None:
    """Revoke every login session of ``user`` (password change, account disabled)."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    user.login_token = None


def disable_user(session: Session, user: User) -> None:
    """An admin disables the account: it cannot sign in, and every browser
    signed in as it is signed out at its next request."""
    user.active = False
    revoke_sessions(session, user)
    session.flush()


def enable_user(session: Session, user: User) -> None:
    """Re-enable a disabled account (earlier sessions stay revoked)."""
    user.active = True
    session.flush()


# === email confirmation =====================================================


def set_locale(session: Session, user: User, locale: str) -> None:
    """Remember the user's language (emails are written in it too)."""
    user.locale = locale
    session.flush()


def _notify(session: Session, **kwargs) -> None:
    from procure.notifications.services import notify

    notify(session, **kwargs)


def confirmation_token(user: User) -> str:
    """The token of a confirmation link for ``user`` (as emailed)."""
    return tokens.dumps(CONFIRM_PURPOSE, {"uid": user.id, "email": user.email})


def send_email_confirmation(session: Session, user: User) -> None:
    """Email ``user`` a signed link to /account/confirm/<token>, valid for
    EMAIL_CONFIRM_MAX_AGE seconds. Each call sends a new email (resend)."""
    if user.email_confirmed_at is not None:
        raise DomainError(_l("该邮箱已经确认过了。"))
    token = confirmation_token(user)
    url = external_url("accounts.confirm_email", token=token)
    _notify(
        session,
        # Unique per sending, so "resend" really sends again.
        event_key=f"account_confirm:{user.id}:{secrets.token_hex(8)}",
        template="account_confirm",
        context={"recipient_name": user.name, "url": url, "hours": confirm_max_age() // 3600},
        email=user.email,
        link=url,
        locale=user.locale,
    )


def confirm_email(session: Session, token: str) -> User:
    """Mark the email of the token's user as confirmed. Raises InvalidToken for
    an expired, broken or already used link."""
    data = tokens.loads(CONFIRM_PURPOSE, token, confirm_max_age())
    user = session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or user.email != data.get("email"):
        raise InvalidToken(_l("链接无效：对应的账号不存在或邮箱已更改。"))
    if user.email_confirmed_at is not None:
        raise InvalidToken(_l("该邮箱已经确认过，此链接不能再次使用。请直接登录。"), reason="used")
    user.email_confirmed_at = utcnow()
    session.flush()
    _confirm_registration(session, user)
    return user


def _confirm_registration(session: Session, user: User) -> None:
    """A registration made with this account now holds its credit code."""
    from procure.organizations import services as org_services

    org_services.confirm_registration(session, user)


def send_account_exists(session: Session, user: User) -> None:
    """Someone registered with the address of an existing account: tell its
    owner, with a sign-in and a password-reset link (nothing was created). At
    most one such email per account and ACCOUNT_EXISTS_EMAIL_INTERVAL seconds,
    so repeated registrations cannot flood the owner's mailbox."""
    from datetime import timedelta

    from procure.notifications.models import Notification

    since = utcnow() - timedelta(seconds=int(_setting("ACCOUNT_EXISTS_EMAIL_INTERVAL", 3600)))
    recent = session.scalar(
        select(Notification.id).where(
            Notification.event_key.like(f"account_exists:{user.id}:%"), Notification.created_at >= since
        ).limit(1)
    )
    if recent is not None:
        return
    login_url = external_url("accounts.login")
    _notify(
        session,
        event_key=f"account_exists:{user.id}:{secrets.token_hex(8)}",
        template="account_exists",
        context={"recipient_name": user.name, "reset_url": external_url("accounts.reset_request")},
        email=user.email,
        link=login_url,
        locale=user.locale,
    )


# === password reset =========================================================


def _reset_fingerprint(user: User) -> str:
    """Changes whenever the password (and so the session token) changes: a
    reset link dies once used, or once the password was changed otherwise."""
    material = f"{user.id}|{user.password_hash}|{user.session_token}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


def reset_token(user: User) -> str:
    """The token of a password reset link for ``user`` (as emailed)."""
    return tokens.dumps(RESET_PURPOSE, {"uid": user.id, "fp": _reset_fingerprint(user)})


def request_password_reset(session: Session, email: str) -> bool:
    """Email a single-use reset link to ``email`` if it belongs to an active
    user. Returns whether a link was sent; callers must NOT tell the visitor
    (the answer is the same whether or not the email is registered)."""
    from procure.accounts import queries

    user = queries.by_email(session, email or "")
    if user is None or not user.active:
        return False
    token = reset_token(user)
    url = external_url("accounts.reset_password", token=token)
    _notify(
        session,
        event_key=f"password_reset:{user.id}:{secrets.token_hex(8)}",
        template="password_reset",
        context={"recipient_name": user.name, "url": url, "minutes": reset_max_age() // 60},
        email=user.email,
        link=url,
        locale=user.locale,
    )
    return True


def user_for_reset_token(session: Session, token: str) -> User:
    """The user a reset link is for; InvalidToken when it is expired, broken or used."""
    data = tokens.loads(RESET_PURPOSE, token, reset_max_age())
    user = session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.active:
        raise InvalidToken(_l("链接无效：对应的账号不存在或已停用。"))
    if not hmac.compare_digest(str(data.get("fp", "")), _reset_fingerprint(user)):
        raise InvalidToken(_l("此重置链接已经使用过，或密码已在其他地方修改，不能再次使用。请重新申请。"), reason="used")
    return user


def reset_password(session: Session, token: str, new_password: str) -> User:
    """Set a new password through a reset link. Ends every session of the user
    and kills the link. Receiving the link proves the email, so it counts as
    confirmed."""
    user = user_for_reset_token(session, token)
    set_password(session, user, new_password, field="password")
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        session.flush()
        _confirm_registration(session, user)
    session.flush()
    return user


# === officials appointed by the platform admin ================================

APPOINTABLE_ROLES = (Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER)
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def appoint_official(session: Session, *, email: str, name: str, role: Role, division: Division | None,
                     appointed_by: User) -> tuple[User, bool]:
    """Make ``email`` a county or township officer of ``division``. A new address
    gets an account (confirmed: the link proves it) and an invitation email whose
    link sets the password; an existing account gets the role and an email saying
    so. Returns (user, created)."""
    if role not in APPOINTABLE_ROLES:
        raise DomainError(_l("只能任命县级采购人员或乡镇人员。"), field="role")
    expected = _ROLE_LEVEL[role]
    if division is None or division.level != expected:
        raise DomainError(
            _l("请填写县级行政区划代码（6 位）。") if role == Role.COUNTY_OFFICER
            else _l("请填写乡镇（街道）行政区划代码（9 位）。"),
            field="division",
        )
    email = normalize_email(email or "")
    if not _EMAIL_SHAPE.match(email) or len(email) > 254:
        raise DomainError(_l("请输入有效的邮箱地址。"), field="email")
    name = " ".join((name or "").split())[:100]
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    created = user is None
    if created:
        user = User(email=email, name=name, password_hash=hash_password(secrets.token_urlsafe(32)),
                    email_confirmed_at=utcnow())
        session.add(user)
        session.flush()
    elif not user.active:
        raise DomainError(_l("该账号已停用：请先在下方列表中重新启用。"), field="email")
    grant_role(session, user, role, division)
    url = external_url("accounts.reset_password", token=reset_token(user)) if created else external_url("accounts.login")
    _notify(
        session,
        event_key=f"official_appointed:{user.id}:{role.value}:{division.id}:{secrets.token_hex(4)}",
        template="official_invitation",
        context={"recipient_name": user.name, "division_name": division.full_name, "county_officer": role == Role.COUNTY_OFFICER, "new_account": created,
                 "url": url, "minutes": reset_max_age() // 60, "appointed_by": appointed_by.name or appointed_by.email},
        email=user.email,
        link=url,
        locale=user.locale,
    )
    return user, created


def set_active(session: Session, user: User, active: bool, *, actor: User) -> None:
    """Enable or disable an account (``disable_user``/``enable_user``); never one's own."""
    if user.id == actor.id:
        raise DomainError(_l("不能停用自己的账号。"))
    (enable_user if active else disable_user)(session, user)
