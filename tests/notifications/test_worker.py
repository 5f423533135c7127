"""Email through a REAL Celery worker process and a REAL broker (Redis when
PROCURE_TEST_REDIS_URL is set, else the embedded SQLAlchemy transport), to the
real SMTP server of the tests."""
from __future__ import annotations

from datetime import timedelta

import pytest

from procure.notifications.models import EmailStatus, Notification
from procure.queue import enqueue
from procure.timeutil import utcnow
from tests import factories
from tests.fixtures.worker import wait_for
from tests.notifications.helpers import notify_test

pytestmark = pytest.mark.worker


def _status(session, notification_id):
    session.rollback()  # see what the worker committed
    return session.get(Notification, notification_id, populate_existing=True)


@pytest.fixture
def celery_delivery(app, celery_worker, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "celery")
    return celery_worker


def test_commit_hands_the_email_to_the_worker_which_sends_it(celery_delivery, session, mailbox):
    user = factories.user(email="worker@example.com")
    n = notify_test(user, event_key="worker:1", title="后台发送", link="/inbox")
    session.commit()

    received = mailbox.wait_for(1, to="worker@example.com", timeout=30)[0]
    assert received.subject == "测试邮件：后台发送"
    assert received["Message-ID"] == f"<notification-{n.id}@procure.local>"
    assert received.link("/inbox") == "http://127.0.0.1:5000/inbox"
    stored = wait_for(lambda: (lambda r: r if r.email_status == EmailStatus.SENT else None)(_status(session, n.id)),
                      timeout=30, message=f"status sent; worker log:\n{celery_delivery.log()[-3000:]}")
    assert stored.email_attempts == 1
    assert len(mailbox.to("worker@example.com")) == 1


def test_worker_retries_with_back_off_after_an_smtp_refusal(celery_delivery, session, mailbox):
    user = factories.user(email="retry@example.com")
    with mailbox.rejecting("451 4.3.0 Greylisted, try again later"):
        n = notify_test(user, event_key="worker:retry")
        session.commit()
        failed = wait_for(lambda: (lambda r: r if r.email_status == EmailStatus.FAILED else None)(_status(session, n.id)),
                          timeout=30, message=f"a first attempt; worker log:\n{celery_delivery.log()[-3000:]}")
        assert failed.email_status == EmailStatus.FAILED and "451" in failed.last_error
    # The server accepts again: Celery's retry (a few seconds later) sends it, once.
    mailbox.wait_for(1, to="retry@example.com", timeout=30)
    stored = wait_for(lambda: (lambda r: r if r.email_status == EmailStatus.SENT else None)(_status(session, n.id)),
                      timeout=30, message="status sent")
    assert stored.email_attempts >= 2
    assert len(mailbox.to("retry@example.com")) == 1


def test_outbox_sweep_sends_an_email_whose_hand_off_was_lost(app, celery_worker, session, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "nowhere")  # the hand-off is lost
    n = notify_test(factories.user(email="lost@example.com"), event_key="worker:lost")
    session.commit()
    n.created_at = utcnow() - timedelta(minutes=5)
    session.commit()
    assert len(mailbox) == 0

    enqueue("workers.tasks.flush_outbox")  # what beat runs every minute
    mailbox.wait_for(1, to="lost@example.com", timeout=30)
    wait_for(lambda: _status(session, n.id).email_status == EmailStatus.SENT, timeout=30, message="status sent")


def test_the_sweep_runs_every_minute(celery_app):
    entry = next(e for e in celery_app.conf.beat_schedule.values() if e["task"] == "workers.tasks.flush_outbox")
    assert entry["schedule"] == timedelta(minutes=1)


def test_the_sweep_does_not_overlap_a_running_sweep(celery_app, app_ctx, session):
    from workers.locks import periodic_lock
    from workers.tasks import flush_outbox

    with periodic_lock("flush_outbox", timeout=60) as acquired:
        assert acquired
        assert flush_outbox() is None  # another run holds the lock: nothing done
    assert flush_outbox() == 0  # free again; nothing due
