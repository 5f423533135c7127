"""Notifications: one row per (event, recipient), which is at the same time the
recipient's inbox entry on the site and the outbox entry of its email.

The unique constraint on ``(event_key, recipient_email)`` is what makes "sent
exactly once per event and recipient" hold, even under concurrent requests.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.extensions import db
from procure.timeutil import utcnow

if TYPE_CHECKING:
    from procure.accounts.models import User


# The standard email signature separator; templates/email/_layout.txt uses it.
SIGNATURE_SEPARATOR = "\n-- \n"


class EmailStatus(enum.StrEnum):
    PENDING = "pending"  # committed, not yet handed to the SMTP server
    SENDING = "sending"  # claimed by a sender (email_claimed_at/_by); see delivery.py
    SENT = "sent"  # accepted by the SMTP server (or written to the mail sink)
    FAILED = "failed"  # last attempt failed; retried while under the attempt cap
    # The server refused the address permanently (5xx), or it was already
    # known to be undeliverable: never retried (see UndeliverableAddress).
    UNDELIVERABLE = "undeliverable"


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_key", "recipient_email"),
        # The inbox: a user's notifications, newest first, and the unread count.
        Index("ix_notifications_recipient_user_id_created_at", "recipient_user_id", "created_at"),
        # The outbox sweep: unsent emails by age.
        Index("ix_notifications_email_status_created_at", "email_status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What happened, e.g. "org.approved:42"; with the recipient it identifies the notification.
    event_key: Mapped[str] = mapped_column(String(200))
    # Null for people who have no account yet (invitees); the email is always set.
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recipient_email: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(100))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    # Rendered once, in the recipient's language: at creation, or, for the
    # rows ``services.notify_users`` stores empty (subject and bodies ""),
    # from template, context, locale and the columns when first loaded; the
    # sender stores that text with its claim (``delivery._store_late_renders``).
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # Site path (or absolute URL) of the thing the notification is about.
    link: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    email_status: Mapped[EmailStatus] = mapped_column(
        Enum(EmailStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=EmailStatus.PENDING,
    )
    email_attempts: Mapped[int] = mapped_column(default=0)
    email_last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    # The claim of a sender (delivery.py): when, and by which process
    # ("host:pid"); a claim older than EMAIL_CLAIM_TIMEOUT, or whose process
    # is gone, is taken over by the outbox sweep.
    email_claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_claimed_by: Mapped[str | None] = mapped_column(String(100))
    # Alerts, reminders and digests: the kind of email the recipient can
    # unsubscribe from in one click (List-Unsubscribe), e.g. "tender_alerts".
    unsubscribe_kind: Mapped[str | None] = mapped_column(String(32))

    recipient: Mapped[User | None] = relationship()

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def inbox_text(self) -> str:
        """The text body without the email signature (after the "-- " line)."""
        return self.body_text.split(SIGNATURE_SEPARATOR, 1)[0].strip()

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.event_key} → {self.recipient_email} {self.email_status}>"


class UndeliverableAddress(db.Model):
    """An address the SMTP server refused permanently (5xx). Nothing more is
    sent to it; a user or organization that changes to another address is
    mailed again (the mark is per address, not per person)."""

    __tablename__ = "undeliverable_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    smtp_code: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmailPreference(db.Model):
    """A user's choice for one kind of optional email (alerts, reminders,
    digests); no row means the default of ``preferences.DEFAULTS``."""

    __tablename__ = "email_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
