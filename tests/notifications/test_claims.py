"""Delivery claims (notifications/delivery.py): the claim is committed before
the SMTP conversation and no lock is held during it; a claim left by a dead
sender is recovered (at once when its process is known to be gone, after
EMAIL_CLAIM_TIMEOUT otherwise) and the copy keeps the Message-ID; a batch
goes over one SMTP connection; 5xx marks the address undeliverable."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from procure.config import ConfigError, load
from procure.extensions import db
from procure.notifications import delivery, mail, services
from procure.notifications.models import EmailStatus, Notification, UndeliverableAddress
from procure.timeutil import utcnow
from tests import factories
from tests.notifications.helpers import notify_test


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs in the sender (not an Exception)."""


@pytest.fixture
def held(app, monkeypatch):
    """Notifications are committed without being sent (the hand-off is lost)."""
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "nowhere")


def _fresh(notification_id):
    with db.engine.connect() as conn:
        return conn.execute(
            sa.select(Notification.email_status, Notification.email_claimed_at, Notification.email_claimed_by)
            .where(Notification.id == notification_id)
        ).one()


def test_the_claim_is_committed_before_the_smtp_conversation_and_no_lock_is_held(app, session, mailbox, held, monkeypatch):
    n = notify_test(factories.user(email="claim@example.com"))
    session.commit()
    seen = {}
    real_send = mail.send

    def observing_send(notification, config, **kwargs):
        # Another connection, while the SMTP conversation runs: the claim is
        # visible (committed), and the row can be written (no lock held).
        seen["row"] = _fresh(notification.id)
        with db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET lock_timeout = '1s'"))
            conn.execute(sa.update(Notification).where(Notification.id == notification.id).values(read_at=utcnow()))
            conn.commit()
        real_send(notification, config, **kwargs)

    monkeypatch.setattr(mail, "send", observing_send)
    assert services.deliver(session, n.id) == "sent"
    status, claimed_at, claimed_by = seen["row"]
    assert status == EmailStatus.SENDING
    assert claimed_at is not None and claimed_by == mail.process_identity()
    assert _fresh(n.id)[0] == EmailStatus.SENT and _fresh(n.id)[1] is None  # the mark clears the claim
    assert len(mailbox.to("claim@example.com")) == 1


def _crash_after_the_server_accepted(monkeypatch):
    real_send = mail.send

    def send_then_die(notification, config, **kwargs):
        real_send(notification, config, **kwargs)
        raise Killed  # between the server's 250 and the mark: the duplicate window

    monkeypatch.setattr(mail, "send", send_then_die)


def test_a_stale_claim_is_recovered_after_the_claim_timeout_and_the_copy_keeps_the_message_id(
        app, session, mailbox, held, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_CLAIM_TIMEOUT", 30)
    n = notify_test(factories.user(email="crash@example.com"))
    session.commit()
    _crash_after_the_server_accepted(monkeypatch)
    with pytest.raises(Killed):
        delivery.deliver_batch([n.id])
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "EMAIL_CLAIM_TIMEOUT", 30)
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "nowhere")
    assert _fresh(n.id)[0] == EmailStatus.SENDING  # the claim survived the crash

    # A live process's fresh claim is not taken over (no double send while it works)...
    assert n.id not in services.due_for_delivery(session)
    assert delivery.deliver_batch([n.id]) == {n.id: "skipped"}
    # ... a claim older than EMAIL_CLAIM_TIMEOUT is, long before the 2-minute pending grace.
    session.execute(sa.update(Notification).where(Notification.id == n.id)
                    .values(email_claimed_at=utcnow() - timedelta(seconds=31)))
    session.commit()
    assert n.id in services.due_for_delivery(session)
    assert delivery.deliver_batch([n.id]) == {n.id: "sent"}
    copies = mailbox.to("crash@example.com")
    assert len(copies) == 2  # the one duplicate SMTP forces ...
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"] == f"<notification-{n.id}@procure.local>"  # ... same id


def test_a_claim_of_a_process_that_is_gone_is_recovered_at_once(app, session, mailbox, held):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_identity = f"{mail.process_identity().rpartition(':')[0]}:{gone.stdout.strip()}"
    n = notify_test(factories.user(email="gone@example.com"))
    session.commit()
    session.execute(sa.update(Notification).where(Notification.id == n.id).values(
        email_status=EmailStatus.SENDING, email_claimed_at=utcnow(), email_claimed_by=dead_identity,
        email_attempts=1))
    session.commit()

    assert n.id in services.due_for_delivery(session)  # fresh, but its process is gone
    assert delivery.deliver_batch([n.id]) == {n.id: "sent"}  # a redelivered task takes it over too
    assert len(mailbox.to("gone@example.com")) == 1


def test_a_batch_goes_over_one_smtp_connection(app, session, mailbox, held):
    mail.close_mailers()
    user_ids = [notify_test(email=f"batch{i}@example.com").id for i in range(12)]
    session.commit()
    outcomes = delivery.deliver_batch(user_ids)
    assert set(outcomes.values()) == {"sent"}
    received = mailbox.messages
    assert len(received) == 12
    assert len({m.peer for m in received}) == 1  # one connection for the whole batch
    more = [notify_test(email=f"later{i}@example.com").id for i in range(3)]
    session.commit()
    delivery.deliver_batch(more)
    assert len({m.peer for m in mailbox.messages}) == 1  # and reused by the next batch


def test_a_permanent_refusal_marks_the_address_undeliverable_and_nothing_more_is_sent_there(
        app, session, mailbox, held):
    user = factories.user(email="nobody@example.com")
    first = notify_test(user)
    session.commit()
    with mailbox.rejecting("550 5.1.1 <nobody@example.com>: mailbox unavailable"):
        assert services.deliver(session, first.id) == "undeliverable"
    session.expire_all()
    assert session.get(Notification, first.id).email_status == EmailStatus.UNDELIVERABLE
    mark = session.scalar(sa.select(UndeliverableAddress).where(UndeliverableAddress.email == "nobody@example.com"))
    assert mark.smtp_code == 550 and "mailbox unavailable" in mark.reason
    assert first.id not in services.due_for_delivery(session)  # never retried

    second = notify_test(user)
    session.commit()
    assert services.deliver(session, second.id) == "skipped"  # not sent
    session.expire_all()
    assert session.get(Notification, second.id).email_status == EmailStatus.UNDELIVERABLE
    assert len(mailbox) == 0

    other = notify_test(email="somebody@example.com")
    session.commit()
    assert services.deliver(session, other.id) == "sent"
    assert len(mailbox.to("somebody@example.com")) == 1


def test_a_temporary_refusal_is_not_an_undeliverable_address(app, session, mailbox, held):
    n = notify_test(email="busy@example.com")
    session.commit()
    with mailbox.rejecting("451 4.3.0 try later"):
        assert services.deliver(session, n.id) == "failed"
    assert session.scalar(sa.select(sa.func.count(UndeliverableAddress.id))) == 0
    assert services.deliver(session, n.id) == "sent"


def test_outside_production_every_email_can_be_redirected_to_one_address(app, session, mailbox, held, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_REDIRECT_TO", "staging@example.com")
    n = notify_test(email="real.org@example.com", title="演示")
    session.commit()
    services.deliver(session, n.id)
    assert mailbox.to("real.org@example.com") == []
    received = mailbox.one(to="staging@example.com")
    assert received["X-Procure-Original-To"] == "real.org@example.com"
    assert received.subject == "测试邮件：演示"


def test_production_refuses_an_email_redirect(monkeypatch):
    monkeypatch.setenv("PROCURE_EMAIL_REDIRECT_TO", "staging@example.com")
    with pytest.raises(ConfigError):
        load({"ENV": "production", "SECRET_KEY": "k" * 20 + "abcdefghijklmnopqrstuvwxyz"})


def test_the_batch_connection_goes_back_to_the_pool_with_full_durability(app, session, mailbox, held):
    """Claims and marks are committed without waiting for the disk on the
    batch's own connection only (delivery.py); every connection handed back
    to the pool is at full durability again, so other commits (a bid) keep it."""
    seen = []

    def durability(dbapi_connection, record):
        cursor = dbapi_connection.cursor()
        if db.engine.dialect.name == "postgresql":
            cursor.execute("SHOW synchronous_commit")
        else:
            cursor.execute("PRAGMA synchronous")
        seen.append(cursor.fetchone()[0])
        cursor.close()
        dbapi_connection.rollback()

    ids = [notify_test(email=f"durable{i}@example.com").id for i in range(3)]
    session.commit()
    sa.event.listen(db.engine, "checkin", durability)
    try:
        assert set(delivery.deliver_batch(ids).values()) == {"sent"}
    finally:
        sa.event.remove(db.engine, "checkin", durability)
    assert seen and set(seen) <= {"on", 2}, seen  # 2: SQLite's FULL
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def _statuses(ids):
    with db.engine.connect() as conn:
        rows = dict(conn.execute(sa.select(Notification.id, Notification.email_status)
                                 .where(Notification.id.in_(ids))).all())
    return [rows[i] for i in ids]


@pytest.mark.parametrize("group", [1, 20])
def test_sent_marks_are_committed_in_groups_of_email_mark_group(app, session, mailbox, held, monkeypatch, group):
    """What another process sees while the batch runs: with EMAIL_MARK_GROUP=1
    every message is marked before the next one is sent (a killed worker
    leaves at most one delivered-but-unmarked email); with 20, the marks
    come 20 at a time (at most 20 such emails, each resent with its
    Message-ID: the fault test counts them)."""
    monkeypatch.setitem(app.config, "EMAIL_MARK_GROUP", group)
    monkeypatch.setattr(delivery, "MARK_GROUP_SECONDS", 600.0)  # however slow this machine is
    ids = sorted(notify_test(email=f"group{group}-{i}@example.com").id for i in range(45))
    session.commit()
    seen = []
    real_send = mail.send

    def observing_send(notification, config, **kwargs):
        seen.append(_statuses(ids).count(EmailStatus.SENT))
        real_send(notification, config, **kwargs)

    monkeypatch.setattr(mail, "send", observing_send)
    assert set(delivery.deliver_batch(ids).values()) == {"sent"}
    assert seen == [(i // group) * group for i in range(45)]
    assert _statuses(ids) == [EmailStatus.SENT] * 45  # the last, partial group at the end of the batch


def test_a_mark_waits_at_most_mark_group_seconds(app, session, mailbox, held, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_MARK_GROUP", 20)
    monkeypatch.setattr(delivery, "MARK_GROUP_SECONDS", 0.0)  # a slow server: every mark is "old"
    ids = sorted(notify_test(email=f"slow{i}@example.com").id for i in range(5))
    session.commit()
    seen = []
    real_send = mail.send

    def observing_send(notification, config, **kwargs):
        seen.append(_statuses(ids).count(EmailStatus.SENT))
        real_send(notification, config, **kwargs)

    monkeypatch.setattr(mail, "send", observing_send)
    delivery.deliver_batch(ids)
    assert seen == [0, 1, 2, 3, 4]


def test_a_batch_ended_by_an_exception_still_marks_what_the_server_accepted(app, session, mailbox, held, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_MARK_GROUP", 20)
    monkeypatch.setattr(delivery, "MARK_GROUP_SECONDS", 600.0)
    ids = sorted(notify_test(email=f"abort{i}@example.com").id for i in range(8))
    session.commit()
    real_send = mail.send
    sent = []

    def send_then_stop(notification, config, **kwargs):
        if len(sent) == 5:
            raise Killed  # e.g. the worker's warm shutdown: not a mail error
        real_send(notification, config, **kwargs)
        sent.append(notification.id)

    monkeypatch.setattr(mail, "send", send_then_stop)
    with pytest.raises(Killed):
        delivery.deliver_batch(ids)
    assert _statuses(ids) == [EmailStatus.SENT] * 5 + [EmailStatus.SENDING] * 3
    assert len(mailbox.messages) == 5
