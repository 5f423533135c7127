"""Members' choices for optional emails, and the signed one-click unsubscribe
token (RFC 8058) that changes one of them without a login."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from procure.errors import DomainError
from procure.notifications.models import EmailPreference

TENDER_ALERTS = "tender_alerts"  # new tenders the organization follows
DEADLINE_REMINDERS = "deadline_reminders"  # bid deadlines coming
OFFICER_DIGEST = "officer_digest"  # officers' daily due work

EACH, DIGEST, ON, OFF = "each", "digest", "on", "off"

# kind → (allowed values, default)
CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    TENDER_ALERTS: ((EACH, DIGEST, OFF), EACH),
    DEADLINE_REMINDERS: ((ON, OFF), ON),
    OFFICER_DIGEST: ((ON, OFF), ON),
}
# What a one-click unsubscribe sets.
UNSUBSCRIBED = {TENDER_ALERTS: OFF, DEADLINE_REMINDERS: OFF, OFFICER_DIGEST: OFF}
TOKEN_SALT = "procure.unsubscribe"


def value_of(session: Session, user_id: int, kind: str) -> str:
    return values_for(session, [user_id], kind)[user_id]


def values_for(session: Session, user_ids: Iterable[int], kind: str) -> dict[int, str]:
    """Each user's value of ``kind`` (the default where none was chosen), in one query."""
    user_ids = list(user_ids)
    default = CHOICES[kind][1]
    chosen: dict[int, str] = {}
    for start in range(0, len(user_ids), 1000):
        chunk = user_ids[start:start + 1000]
        chosen.update(
            (uid, value) for uid, value in session.execute(
                select(EmailPreference.user_id, EmailPreference.value).where(
                    EmailPreference.kind == kind, EmailPreference.user_id.in_(chunk)
                )
            ).all()
        )
    return {uid: chosen.get(uid, default) for uid in user_ids}


def all_for(session: Session, user_id: int) -> dict[str, str]:
    chosen = dict(
        tuple(row) for row in session.execute(
            select(EmailPreference.kind, EmailPreference.value).where(EmailPreference.user_id == user_id)
        ).all()
    )
    return {kind: chosen.get(kind, default) for kind, (_, default) in CHOICES.items()}


def set_value(session: Session, user_id: int, kind: str, value: str) -> None:
    """Record the user's choice. Raises DomainError for an unknown kind or value. Flushes."""
    if kind not in CHOICES or value not in CHOICES[kind][0]:
        raise DomainError("invalid email preference")
    row = session.scalar(select(EmailPreference).where(EmailPreference.user_id == user_id, EmailPreference.kind == kind))
    if row is None:
        session.add(EmailPreference(user_id=user_id, kind=kind, value=value))
    else:
        row.value = value
    session.flush()


def _serializer(config: Mapping[str, Any]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config["SECRET_KEY"], salt=TOKEN_SALT)


def unsubscribe_token(user_id: int, kind: str, config: Mapping[str, Any]) -> str:
    return _serializer(config).dumps([user_id, kind])


def read_unsubscribe_token(token: str, config: Mapping[str, Any]) -> tuple[int, str] | None:
    """(user id, kind) of a valid token, else None (bad signature, expired, junk)."""
    try:
        user_id, kind = _serializer(config).loads(token, max_age=int(config.get("UNSUBSCRIBE_MAX_AGE") or 0) or None)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or kind not in UNSUBSCRIBED:
        return None
    return user_id, kind
