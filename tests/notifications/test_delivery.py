"""Delivery: after commit, to a real SMTP server; failures recorded, retried, never sent twice."""
from __future__ import annotations

import email
import email.policy
import socket
from datetime import timedelta

import pytest

from procure import queue
from procure.extensions import db
from procure.notifications import mail, services
from procure.notifications.models import EmailStatus, Notification
from procure.timeutil import utcnow
from tests import factories
from tests.notifications.helpers import notify_test


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def test_inline_delivery_reaches_the_smtp_server_with_proper_headers(app, session, mailbox):
    user = factories.user(email="wang@example.com")
    user.name = "王五"
    n = notify_test(user, event_key="award:11", title="中标通知", message="贵机构已中标。", link="/tenders/11")
    session.commit()

    received = mailbox.one(to="wang@example.com")
    assert received.mail_from == "noreply@procure.local"
    # A proper From name (MAIL_FROM_NAME), RFC 2047-encoded on the wire.
    assert received["From"] == "政府购买服务平台 <noreply@procure.local>"
    assert received["From"].addresses[0].display_name == "政府购买服务平台"
    assert received["To"] == "wang@example.com"
    assert received.subject == "测试邮件：中标通知"
    assert received["Message-ID"] == f"<notification-{n.id}@procure.local>"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Content-Language"] == "zh-CN"
    assert received["Date"]
    assert received.message.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p for p in received.message.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert all(p.get_content_charset() == "utf-8" for p in parts.values())
    assert "王五，您好：" in received.text and "贵机构已中标。" in received.text
    assert "贵机构已中标。" in received.html
    assert received.link("/tenders/") == "http://127.0.0.1:5000/tenders/11"
    # On the wire the headers are pure ASCII (the Chinese subject is RFC 2047 encoded).
    head = received.raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")
    assert b"=?utf-8?" in head.lower()

    session.refresh(n)
    assert n.email_status == EmailStatus.SENT
    assert n.email_attempts == 1 and n.email_sent_at is not None and n.last_error is None


def test_smtp_down_is_recorded_not_raised_and_a_later_delivery_sends_once(app, session, mailbox, monkeypatch):
    user = factories.user(email="down@example.com")
    monkeypatch.setitem(app.config, "SMTP_PORT", _closed_port())
    with app.test_request_context("/"):  # as in a user's request
        n = notify_test(user, event_key="org.approved:3")
        session.commit()  # must not raise although the mail server is down
    session.refresh(n)
    assert n.email_status == EmailStatus.FAILED
    assert n.email_attempts == 1
    assert "ConnectionRefusedError" in n.last_error
    assert n.email_sent_at is None
    assert len(mailbox) == 0

    monkeypatch.undo()  # the server is back
    assert services.deliver(session, n.id) == "sent"
    session.commit()
    assert services.deliver(session, n.id) == "skipped"
    session.commit()
    session.refresh(n)
    assert n.email_status == EmailStatus.SENT and n.email_attempts == 2 and n.last_error is None
    assert len(mailbox.to("down@example.com")) == 1


def test_smtp_refusal_is_recorded_and_the_retry_keeps_the_message_id(app, session, mailbox):
    user = factories.user(email="later@example.com")
    with mailbox.rejecting("451 4.3.0 Mailbox busy, try later"):
        n = notify_test(user, event_key="reminder:72h:5")
        session.commit()
    session.refresh(n)
    assert n.email_status == EmailStatus.FAILED
    assert "451" in n.last_error and "Mailbox busy" in n.last_error
    assert len(mailbox) == 0

    assert services.deliver(session, n.id) == "sent"
    session.commit()
    assert mailbox.one(to="later@example.com")["Message-ID"] == f"<notification-{n.id}@procure.local>"


def test_deliver_twice_sends_one_email(app, session, mailbox):
    user = factories.user(email="twice@example.com")
    n = notify_test(user)
    session.commit()  # inline delivery in the tests
    assert len(mailbox) == 1
    assert services.deliver(session, n.id) == "skipped"
    assert services.deliver(session, n.id) == "skipped"
    session.commit()
    assert len(mailbox) == 1
    assert services.deliver(session, 999999) == "missing"


def test_celery_mode_enqueues_after_commit_only(app, session, mailbox, monkeypatch):
    calls = []
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "celery")
    monkeypatch.setattr(queue, "enqueue", lambda name, *args: calls.append((name, args)))
    user = factories.user()
    n = notify_test(user)
    session.flush()
    assert calls == []  # not before the commit: the worker must see the row
    session.commit()
    assert calls == [("workers.tasks.send_email", (n.id,))]
    assert len(mailbox) == 0  # the worker sends it, not the web process
    session.refresh(n)
    assert n.email_status == EmailStatus.PENDING

    rolled_back = notify_test(user)
    assert rolled_back is not None
    session.rollback()
    session.commit()
    assert len(calls) == 1


def test_broker_down_leaves_the_email_pending_for_the_outbox_sweep(app, session, mailbox, monkeypatch):
    def broken(*args):
        raise ConnectionError("broker unreachable")

    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "celery")
    monkeypatch.setattr(queue, "enqueue", broken)
    n = notify_test(factories.user())
    session.commit()  # no exception for the user
    session.refresh(n)
    assert n.email_status == EmailStatus.PENDING
    assert services.due_for_delivery(session) == []  # too fresh: its hand-off may still be on its way
    n.created_at = utcnow() - timedelta(minutes=3)
    session.commit()
    assert services.due_for_delivery(session) == [n.id]


def test_due_for_delivery_picks_stale_pending_and_failed_under_the_cap_after_back_off(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "celery")
    monkeypatch.setattr(queue, "enqueue", lambda *a: None)
    user = factories.user()
    old = utcnow() - timedelta(hours=2)
    rows = {name: notify_test(user, event_key=f"due:{name}") for name in
            ("fresh", "stale", "sent", "failed_retry", "failed_waiting", "failed_capped")}
    session.commit()
    for name, n in rows.items():
        n.created_at = old
    rows["fresh"].created_at = utcnow()
    rows["sent"].email_status = EmailStatus.SENT
    for name in ("failed_retry", "failed_waiting", "failed_capped"):
        rows[name].email_status = EmailStatus.FAILED
    rows["failed_retry"].email_attempts = 3
    rows["failed_retry"].email_last_attempt_at = utcnow() - timedelta(minutes=9)  # back-off 8 min: due
    rows["failed_waiting"].email_attempts = 3
    rows["failed_waiting"].email_last_attempt_at = utcnow() - timedelta(minutes=7)  # not yet
    rows["failed_capped"].email_attempts = 8
    rows["failed_capped"].email_last_attempt_at = old
    session.commit()

    due = services.due_for_delivery(session, max_attempts=8)
    assert sorted(due) == sorted([rows["stale"].id, rows["failed_retry"].id])


def test_without_smtp_host_the_email_goes_to_the_mail_sink(app, session, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    n = notify_test(factories.user(email="sink@example.com"), title="演示")
    session.commit()
    session.refresh(n)
    assert n.email_status == EmailStatus.SENT
    assert len(mailbox) == 0
    path = mail.sink_dir(app.config) / f"notification-{n.id}.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "sink@example.com"
    assert message["Subject"] == "测试邮件：演示"
    assert "这是一封来自政府购买服务平台的测试邮件。" in message.get_body(("plain",)).get_content()


def test_build_message_is_stable_across_retries(app, session):
    n = notify_test(factories.user())
    session.flush()
    first, second = mail.build_message(n, app.config), mail.build_message(n, app.config)
    assert first["Message-ID"] == second["Message-ID"] == f"<notification-{n.id}@procure.local>"
    assert first["Date"] == second["Date"]


def test_a_committed_notification_survives_a_failing_transport(app, session, monkeypatch):
    """Whatever the transport raises, the caller's commit stands and the error is kept."""
    def explode(notification, config, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(mail, "send", explode)
    user = factories.user()
    n = notify_test(user)
    user.name = "提交的修改"
    session.commit()
    session.expire_all()
    assert user.name == "提交的修改"
    stored = session.get(Notification, n.id)
    assert stored.email_status == EmailStatus.FAILED and stored.last_error == "RuntimeError: disk full"


# AUTH without TLS: acceptable on loopback in a test.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_when_a_user_is_configured(app, session, monkeypatch):
    """SMTP_USER/SMTP_PASSWORD: the client authenticates (AUTH LOGIN/PLAIN) before sending."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.fixtures.smtp import CollectingHandler, Mailbox

    logins = []

    def authenticator(server, smtp_session, envelope, mechanism, auth_data):
        credentials = tuple(v.decode() if isinstance(v, bytes) else v for v in (auth_data.login, auth_data.password))
        logins.append(credentials)
        # handled=False: the server itself answers 235 or 535.
        return AuthResult(success=credentials == ("procure", "s3cret"), handled=False)

    handler = CollectingHandler()
    port = _closed_port()
    server = Controller(handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
                        auth_require_tls=False, auth_required=True)
    server.start()
    try:
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "SMTP_USER", "procure")
        monkeypatch.setitem(app.config, "SMTP_PASSWORD", "wrong")
        n = notify_test(factories.user(email="auth@example.com"))
        session.commit()
        session.refresh(n)
        assert n.email_status == EmailStatus.FAILED and "SMTPAuthenticationError" in n.last_error

        monkeypatch.setitem(app.config, "SMTP_PASSWORD", "s3cret")
        assert services.deliver(session, n.id) == "sent"
        session.commit()
        assert Mailbox(handler).one(to="auth@example.com")
        assert logins[0] == ("procure", "wrong") and logins[-1] == ("procure", "s3cret")
    finally:
        server.stop()


def test_concurrent_deliveries_of_one_notification_send_one_email(app, session, mailbox, monkeypatch):
    """Two workers get the same id at once (a re-enqueue by the outbox sweep
    while the first is still sending): the second waits, sees "sent", skips."""
    import threading
    import time

    from sqlalchemy.orm import Session

    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "celery")
    monkeypatch.setattr(queue, "enqueue", lambda *a: None)
    n = notify_test(factories.user(email="race@example.com"))
    session.commit()

    real_send = mail.send

    def slow_send(notification, config, **kwargs):
        time.sleep(0.5)  # a slow SMTP server
        real_send(notification, config, **kwargs)

    monkeypatch.setattr(mail, "send", slow_send)
    outcomes = []

    def worker():
        with app.app_context(), Session(db.engine) as worker_session:
            outcomes.append(services.deliver(worker_session, n.id))
            worker_session.commit()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(outcomes) == ["sent", "skipped"]
    assert len(mailbox.to("race@example.com")) == 1
    session.refresh(n)
    assert n.email_attempts == 1
