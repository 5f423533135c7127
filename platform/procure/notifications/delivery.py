"""Email delivery of committed notifications: claim → send → mark.

This module commits, unlike a service: a claim is only useful once other
processes can see it, so each step is its own short transaction on one
session of its own that the batch keeps (never the caller's). Nothing here
holds a database transaction or a row lock while talking to the SMTP server.

1. **Claim** (one short transaction): ``UPDATE … SET email_status='sending',
   email_claimed_at=now, email_claimed_by='host:pid', email_attempts+1 WHERE id
   IN (…) AND (pending OR failed OR a stale claim) RETURNING id``. Rows that
   another sender holds are not returned (skipped). Claims are taken in chunks
   of ``EMAIL_CLAIM_CHUNK`` so that a claim is never much older than the send.
2. **Send** each claimed message over the process's reused SMTP connection
   (``mail.mailer``), with its deterministic ``Message-ID``.
3. **Mark**: ``failed`` / ``undeliverable`` at once (one tiny transaction);
   ``sent`` in groups: one UPDATE + COMMIT per ``EMAIL_MARK_GROUP`` sent
   messages (default 20), or sooner when the oldest unmarked one waited
   ``MARK_GROUP_SECONDS``, and always when the batch ends, even by an
   exception. (One commit per message cost more than the whole SMTP
   conversation of a message at fan-out volume.)

A claim is stale — and the outbox sweep (``due_for_delivery``) hands the row
on again — when its process is gone (same host: the pid no longer runs, so
it is recovered at the next sweep) or when it is older than
``EMAIL_CLAIM_TIMEOUT`` (other hosts).

THE DUPLICATE WINDOW: between the moment the SMTP server has accepted a
message (its "250" to DATA) and the commit of its ``sent`` mark. A process
KILLED there (SIGKILL, OOM, power) leaves claimed rows for messages that
were in fact delivered; the rows are recovered and those messages are sent
again. SMTP cannot close this window (the server's acceptance and our
database commit cannot be one atomic step), so every copy carries the same
``Message-ID`` as its original and mail clients drop it. With grouped marks
at most ``EMAIL_MARK_GROUP`` messages per killed process are affected
(``EMAIL_MARK_GROUP=1``: at most one, a commit per message);
``tests/faults`` kills a worker in the middle of a 500-message batch and
counts them at the SMTP sink. Claims and marks are committed without
waiting for the disk, on the batch's connection only: on PostgreSQL with
``synchronous_commit = off``, on SQLite in WAL mode with
``synchronous = NORMAL`` (the database file is switched to WAL; other
connections keep their own, full, durability). A crash of the *database
server or the machine* (not of a worker) may lose the last claims and marks
of that fraction of a second, which widens the window the same way (again,
same Message-ID).
"""
from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from flask import current_app
from sqlalchemy import and_, bindparam, or_, select, text, update
from sqlalchemy.orm import Session

from procure.notifications import mail
from procure.notifications.models import EmailStatus, Notification, UndeliverableAddress
from procure.timeutil import utcnow

log = logging.getLogger(__name__)

Outcome = Literal["sent", "failed", "undeliverable", "skipped", "missing"]

MAX_ERROR_LENGTH = 2000
DEFAULT_CLAIM_CHUNK = 100
DEFAULT_CLAIM_TIMEOUT = 90  # seconds
DEFAULT_MARK_GROUP = 20  # "sent" marks per commit
MARK_GROUP_SECONDS = 1.0  # a "sent" mark waits at most this long for its group
# Emails whose body carries a one-time link (a credential until used or expired).
CREDENTIAL_TEMPLATES = frozenset(
    {"account_confirm", "password_reset", "org_invitation", "evaluator_invitation", "official_invitation"}
)


def _setting(config: Mapping[str, Any], name: str, default: int) -> int:
    return int(config.get(name) or default)


def claim_timeout(config: Mapping[str, Any]) -> timedelta:
    return timedelta(seconds=_setting(config, "EMAIL_CLAIM_TIMEOUT", DEFAULT_CLAIM_TIMEOUT))


def claimable(now: datetime, config: Mapping[str, Any]):
    """Rows a sender may claim: pending, failed (the caller decides about the
    back-off), or claimed longer ago than the claim timeout."""
    return or_(
        Notification.email_status.in_([EmailStatus.PENDING, EmailStatus.FAILED]),
        and_(
            Notification.email_status == EmailStatus.SENDING,
            Notification.email_claimed_at < now - claim_timeout(config),
        ),
    )


def _claim(session: Session, ids: list[int], config: Mapping[str, Any]) -> list[Notification]:
    """Step 1: claim ``ids`` in one committed transaction (on the marker's
    session); returns the claimed rows, detached. Claims of a process of this
    host that no longer runs are taken over at once (a task redelivered after
    its worker was killed)."""
    now = utcnow()
    condition = claimable(now, config)
    try:
        claimers = set(
            session.scalars(
                select(Notification.email_claimed_by)
                .where(Notification.id.in_(ids), Notification.email_status == EmailStatus.SENDING)
                .distinct()
            )
        )
        dead = [c for c in claimers if mail.process_alive(c) is False]
        if dead:
            condition = or_(
                condition,
                and_(Notification.email_status == EmailStatus.SENDING, Notification.email_claimed_by.in_(dead)),
            )
        claimed_ids = list(
            session.scalars(
                update(Notification)
                .where(Notification.id.in_(ids), condition)
                .values(
                    email_status=EmailStatus.SENDING,
                    email_claimed_at=now,
                    email_claimed_by=mail.process_identity(),
                    email_attempts=Notification.email_attempts + 1,
                    email_last_attempt_at=now,
                )
                .returning(Notification.id)
                .execution_options(synchronize_session=False)
            )
        )
        if not claimed_ids:
            session.commit()
            return []
        rows = list(
            session.scalars(select(Notification).where(Notification.id.in_(claimed_ids)).order_by(Notification.id))
        )
        _store_late_renders(session, rows)
        blocked = set(
            session.scalars(
                select(UndeliverableAddress.email).where(
                    UndeliverableAddress.email.in_({r.recipient_email for r in rows})
                )
            )
        )
        if blocked:
            # Known undeliverable: never sent again (until the address changes).
            session.execute(
                update(Notification)
                .where(Notification.id.in_([r.id for r in rows if r.recipient_email in blocked]))
                .values(
                    email_status=EmailStatus.UNDELIVERABLE,
                    email_claimed_at=None,
                    email_claimed_by=None,
                    last_error="address marked undeliverable earlier; not sent",
                )
                .execution_options(synchronize_session=False)
            )
        session.commit()
        session.expunge_all()
        return [r for r in rows if r.recipient_email not in blocked]
    except BaseException:
        session.rollback()
        raise


def _store_late_renders(session: Session, rows: list[Notification]) -> None:
    """Rows stored without their text (``services.notify_users``) were
    rendered as they were loaded: the text is stored with the claim, before
    the email goes out, so the inbox shows what was sent."""
    from procure.notifications.services import RENDERED_LATE

    late = [r for r in rows if getattr(r, RENDERED_LATE, False)]
    if late:
        table = Notification.__table__
        session.execute(
            table.update()
            .where(table.c.id == bindparam("row_id"), table.c.subject == "", table.c.body_html == "")
            .values(subject=bindparam("new_subject"), body_text=bindparam("new_text"),
                    body_html=bindparam("new_html")),
            [{"row_id": r.id, "new_subject": r.subject, "new_text": r.body_text, "new_html": r.body_html}
             for r in late],
        )


class _Marker:
    """Steps 1 and 3 on one database connection kept for the whole batch: one
    claim per chunk and one tiny committed transaction per message (UPDATE +
    COMMIT), without the cost of a new session each time."""

    def __init__(self, engine, group: int = 1):
        self.engine = engine
        self.session: Session | None = None
        self.group = max(int(group), 1)
        self.unmarked: list[Notification] = []
        self.oldest = 0.0

    def __enter__(self) -> _Marker:
        # One connection for the batch (a Session alone would hand it back to
        # the pool after each commit, settings and all).
        self.connection = self.engine.connect()
        self.dialect = self.connection.dialect.name
        try:
            if self.dialect == "postgresql":
                self.connection.exec_driver_sql("SET synchronous_commit = off")
            elif self.dialect == "sqlite":
                # In WAL mode (persistent, for the database file; readers then
                # never block this writer) with synchronous=NORMAL on this
                # connection only, a commit is appended to the log without an
                # fsync. pysqlite runs PRAGMAs outside a transaction.
                self.connection.exec_driver_sql("PRAGMA journal_mode=WAL")
                self.connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
            self.connection.commit()
        except BaseException:
            self.connection.invalidate()
            self.connection.close()
            raise
        self.session = Session(bind=self.connection, expire_on_commit=False)
        return self

    def __exit__(self, *exc) -> None:
        try:
            # Whatever ends the batch (even an exception), the messages the
            # server accepted are marked; only a killed process leaves them.
            self.flush()
        except Exception:
            log.exception("could not mark %s sent email(s); they will be sent again (same Message-ID)",
                          len(self.unmarked))
        try:
            self.session.close()
            if self.connection.in_transaction():
                self.connection.rollback()
            # Back to full durability before the connection goes back to the pool.
            if self.dialect == "postgresql":
                self.connection.exec_driver_sql("SET synchronous_commit = on")
            elif self.dialect == "sqlite":
                self.connection.exec_driver_sql("PRAGMA synchronous=FULL")
            self.connection.commit()
        except Exception:
            # Never hand a connection with the relaxed setting to anyone else.
            self.connection.invalidate()
        finally:
            self.connection.close()

    def __call__(self, notification: Notification, status: EmailStatus, *, error: str | None = None,
                 refusal: mail.PermanentRefusal | None = None) -> None:
        if status == EmailStatus.SENT and self.group > 1:
            # Sent: marked with the next ones (see "the duplicate window").
            if not self.unmarked:
                self.oldest = time.monotonic()
            self.unmarked.append(notification)
            if len(self.unmarked) >= self.group or time.monotonic() - self.oldest >= MARK_GROUP_SECONDS:
                self.flush()
            return
        self.flush()
        values: dict[str, Any] = {"email_status": status, "email_claimed_at": None, "email_claimed_by": None,
                                  "last_error": error[:MAX_ERROR_LENGTH] if error else None}
        if status == EmailStatus.SENT:
            values.update(_sent_values(notification.template in CREDENTIAL_TEMPLATES, utcnow()))
        self._commit([(values, [notification.id])], notification if refusal is not None else None, refusal)

    def flush(self) -> None:
        """Commit the ``sent`` marks not yet written (one UPDATE per kind)."""
        if not self.unmarked:
            return
        now = utcnow()
        base = {"email_status": EmailStatus.SENT, "email_claimed_at": None, "email_claimed_by": None,
                "last_error": None}
        updates = []
        for credential in (False, True):
            ids = [n.id for n in self.unmarked if (n.template in CREDENTIAL_TEMPLATES) == credential]
            if ids:
                updates.append(({**base, **_sent_values(credential, now)}, ids))
        self._commit(updates)
        self.unmarked.clear()

    def _commit(self, updates, notification=None, refusal=None) -> None:
        session = self.session
        try:
            for values, ids in updates:
                session.execute(
                    update(Notification)
                    .where(Notification.id.in_(ids), Notification.email_status == EmailStatus.SENDING)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
            if refusal is not None:
                _record_undeliverable(session, notification, refusal)
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _sent_values(credential: bool, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"email_sent_at": now}
    if credential:
        # One-time links are credentials: once the email is out, the
        # database keeps that it was sent, not the link itself.
        values.update(body_text="", body_html="", link=None)
    return values


def _record_undeliverable(session: Session, notification: Notification, refusal: mail.PermanentRefusal) -> None:
    exists = session.scalar(
        select(UndeliverableAddress.id).where(UndeliverableAddress.email == notification.recipient_email)
    )
    if exists is None:
        session.add(
            UndeliverableAddress(
                email=notification.recipient_email,
                smtp_code=refusal.code,
                reason=refusal.message[:MAX_ERROR_LENGTH],
                notification_id=notification.id,
            )
        )
        try:
            session.flush()
        except Exception:  # a concurrent sender recorded it first
            session.rollback()


def deliver_batch(ids: Iterable[int], *, config: Mapping[str, Any] | None = None, engine=None) -> dict[int, Outcome]:
    """Claim, send and mark the emails of ``ids`` over one reused SMTP
    connection; returns each id's outcome. Never raises for a mail error."""
    from procure.extensions import db

    config = config if config is not None else current_app.config
    engine = engine if engine is not None else db.engine
    ids = sorted(set(ids))
    outcomes: dict[int, Outcome] = {}
    chunk_size = _setting(config, "EMAIL_CLAIM_CHUNK", DEFAULT_CLAIM_CHUNK)
    connection = mail.mailer(config) if config.get("SMTP_HOST") else None
    with _Marker(engine, _setting(config, "EMAIL_MARK_GROUP", DEFAULT_MARK_GROUP)) as mark:
        _deliver_chunks(ids, chunk_size, engine, config, connection, mark, outcomes)
    if any(v == "skipped" for v in outcomes.values()):
        with Session(engine) as session:
            existing = set(session.scalars(select(Notification.id).where(Notification.id.in_(
                [i for i, v in outcomes.items() if v == "skipped"]))))
        for notification_id, outcome in outcomes.items():
            if outcome == "skipped" and notification_id not in existing:
                outcomes[notification_id] = "missing"
    return outcomes


def _deliver_chunks(ids, chunk_size, engine, config, connection, mark, outcomes) -> None:
    from procure.notifications.services import is_unrendered

    for start in range(0, len(ids), chunk_size):
        chunk = ids[start:start + chunk_size]
        claimed = _claim(mark.session, chunk, config)
        broken: BaseException | None = None
        undeliverable: set[str] = set()
        for notification in claimed:
            if is_unrendered(notification):
                # Stored without its text, and its template did not render (logged): never an empty email.
                mark(notification, EmailStatus.FAILED, error=f"template {notification.template!r} did not render")
                outcomes[notification.id] = "failed"
                continue
            if broken is not None or notification.recipient_email in undeliverable:
                # The server is unreachable: do not hold the rest of the
                # chunk claimed while each send times out; release them now.
                reason = (f"not tried: {type(broken).__name__}: {broken}" if broken is not None
                          else "address refused permanently earlier in this batch")
                status = EmailStatus.FAILED if broken is not None else EmailStatus.UNDELIVERABLE
                mark(notification, status, error=reason)
                outcomes[notification.id] = "failed" if broken is not None else "undeliverable"
                continue
            try:
                mail.send(notification, config, unsubscribe_url=unsubscribe_url(notification, config),
                          connection=connection)
            except mail.PermanentRefusal as exc:
                mark(notification, EmailStatus.UNDELIVERABLE, error=f"PermanentRefusal: {exc}", refusal=exc)
                undeliverable.add(notification.recipient_email)
                log.warning("email for notification %s: %s refused permanently: %s",
                            notification.id, notification.recipient_email, exc)
                outcomes[notification.id] = "undeliverable"
            except Exception as exc:  # SMTP refusal, network error, bad config: record, don't raise
                mark(notification, EmailStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
                log.warning("email for notification %s to %s failed (attempt %s): %s", notification.id,
                            notification.recipient_email, notification.email_attempts, exc)
                outcomes[notification.id] = "failed"
                if not isinstance(exc, smtplib.SMTPResponseException):
                    broken = exc  # no answer at all: connection-level trouble
            else:
                mark(notification, EmailStatus.SENT)
                outcomes[notification.id] = "sent"
        for notification_id in chunk:
            outcomes.setdefault(notification_id, "skipped")


def unsubscribe_url(notification: Notification, config: Mapping[str, Any]) -> str | None:
    """The one-click unsubscribe URL of an alert, reminder or digest."""
    if not notification.unsubscribe_kind or notification.recipient_user_id is None:
        return None
    from procure.alerts import preferences

    token = preferences.unsubscribe_token(notification.recipient_user_id, notification.unsubscribe_kind, config)
    return config["BASE_URL"].rstrip("/") + "/unsubscribe/" + token


def dead_claims(session: Session) -> list[int]:
    """Ids of rows claimed by a process of this host that no longer runs
    (handed on at the next sweep, without waiting for the claim timeout;
    ``_claim`` takes them over)."""
    rows = session.execute(
        select(Notification.id, Notification.email_claimed_by).where(Notification.email_status == EmailStatus.SENDING)
    ).all()
    verdicts: dict[str | None, bool | None] = {}
    dead = []
    for notification_id, claimer in rows:
        if claimer not in verdicts:
            verdicts[claimer] = mail.process_alive(claimer)
        if verdicts[claimer] is False:
            dead.append(notification_id)
    return dead
