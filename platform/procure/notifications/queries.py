"""Reads of notifications: a user's inbox and the email outbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from procure.notifications.models import EmailStatus, Notification

INBOX_PAGE_SIZE = 30


def inbox_page(session: Session, user_id: int, *, page: int = 1, per_page: int = INBOX_PAGE_SIZE) -> tuple[list[Notification], bool]:
    """One page of the user's notifications, newest first, and whether more follow."""
    page = max(page, 1)
    rows = session.scalars(
        select(Notification)
        .where(Notification.recipient_user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    return list(rows[:per_page]), len(rows) > per_page


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(unread_count_statement(user_id)) or 0


def unread_count_statement(user_id: int):
    """The SELECT of ``unread_count`` (also combined with the navbar's other counts)."""
    return select(func.count(Notification.id)).where(
        Notification.recipient_user_id == user_id, Notification.read_at.is_(None)
    )


def for_recipient(session: Session, notification_id: int, user_id: int) -> Notification | None:
    """The notification if it belongs to the user, else None (others' are invisible)."""
    return session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.recipient_user_id == user_id)
    )


def by_event(session: Session, event_key: str) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.event_key == event_key).order_by(Notification.id)))


def stale_pending_ids(session: Session, *, before: datetime, limit: int) -> list[int]:
    """Pending emails created before ``before`` and not tried since then."""
    return list(
        session.scalars(
            select(Notification.id)
            .where(
                Notification.email_status == EmailStatus.PENDING,
                Notification.created_at < before,
                or_(Notification.email_last_attempt_at.is_(None), Notification.email_last_attempt_at < before),
            )
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def failed_under_cap(session: Session, max_attempts: int, *, limit: int) -> list[tuple[int, int, datetime | None]]:
    """(id, attempts, last attempt) of failed emails that may still be retried."""
    return [
        tuple(row)
        for row in session.execute(
            select(Notification.id, Notification.email_attempts, Notification.email_last_attempt_at)
            .where(Notification.email_status == EmailStatus.FAILED, Notification.email_attempts < max_attempts)
            .order_by(Notification.email_last_attempt_at)
            .limit(limit)
        )
    ]


def stale_claim_ids(session: Session, *, before: datetime, limit: int) -> list[int]:
    """Emails claimed by a sender before ``before`` and never marked (the
    sender died, or hangs): handed on again (delivery.py)."""
    return list(
        session.scalars(
            select(Notification.id)
            .where(Notification.email_status == EmailStatus.SENDING, Notification.email_claimed_at < before)
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def undeliverable_addresses(session: Session, emails: list[str]) -> dict[str, "UndeliverableAddress"]:
    """The undeliverable marks of ``emails`` (lower-case), by address."""
    from procure.notifications.models import UndeliverableAddress

    wanted = sorted({e.strip().lower() for e in emails if e})
    if not wanted:
        return {}
    rows = session.scalars(select(UndeliverableAddress).where(UndeliverableAddress.email.in_(wanted)))
    return {row.email: row for row in rows}


def failed_for_good(session: Session, max_attempts: int, *, page: int = 1, per_page: int = 50) -> tuple[list[Notification], bool]:
    """Emails nobody will retry any more: failed after the last attempt, or
    refused permanently. Newest first; and whether more follow."""
    rows = session.scalars(
        select(Notification)
        .where(
            or_(
                (Notification.email_status == EmailStatus.FAILED) & (Notification.email_attempts >= max_attempts),
                Notification.email_status == EmailStatus.UNDELIVERABLE,
            )
        )
        .order_by(Notification.email_last_attempt_at.desc().nulls_last(), Notification.id.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    return list(rows[:per_page]), len(rows) > per_page


def retryable(session: Session, notification_id: int) -> Notification | None:
    """The email if an admin may send it again (failed or refused), else None."""
    return session.scalar(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.email_status.in_([EmailStatus.FAILED, EmailStatus.UNDELIVERABLE]),
        )
    )
