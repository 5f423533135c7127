"""Tender deadline reminders end to end with REAL processes: a Celery worker
on the real broker (Redis when PROCURE_TEST_REDIS_URL is set), the planner
run by the worker (the clock moved with the task's ``now``, as ``flask jobs
run --now``), the emails handed on by the worker to itself and sent to the
real SMTP server of the tests; and once with a real beat process on its
real one-minute cadence. The assertions read what the SMTP server received.

The measured delays are printed (``-s`` shows them)."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from procure.alerts import services as follows
from procure.bids import services as bids
from procure.extensions import db
from procure.queue import enqueue
from procure.tenders import services as tenders
from procure.tenders.models import Tender
from procure.timeutil import as_utc, utcnow
from tests import factories
from tests.fixtures.worker import beat_process, wait_for
from tests.organizations.conftest import fast_passwords  # noqa: F401  (autouse: scrypt once per password)
from tests.tenders import builders as b

pytestmark = pytest.mark.worker

REMINDER = "投标截止提醒"


def _org(email, *, org_type="social_service_agency", follow=True):
    admin = factories.user(email=email)
    org = factories.organization("371321", admin_user=admin, org_type=org_type)
    if follow:
        follows.follow(db.session, org, county=factories.county("371321"))
    db.session.commit()
    return org, admin


def _reminders(mailbox, address=None):
    messages = mailbox.to(address) if address else mailbox.messages
    return [m for m in messages if m.subject.startswith(REMINDER)]


def _plan(worker, mailbox, now, *, expect: int) -> float:
    """Have the worker run the reminder planner at ``now``; wait until
    ``expect`` more reminders arrived at the SMTP server. Returns the seconds
    from the enqueue to the last arrival."""
    before = len(_reminders(mailbox))
    start = time.monotonic()
    task_id = enqueue("workers.tasks.plan_reminders", now=now.isoformat())
    wait_for(lambda: f"{task_id}] succeeded" in worker.log(), timeout=60,
             message=f"the planner task; worker log:\n{worker.log()[-3000:]}")
    if expect:
        wait_for(lambda: len(_reminders(mailbox)) >= before + expect, timeout=60,
                 message=f"{expect} reminder(s); worker log:\n{worker.log()[-3000:]}")
    elapsed = time.monotonic() - start
    time.sleep(1.0)  # anything more (a duplicate, an unwanted recipient) would arrive now
    assert len(_reminders(mailbox)) == before + expect
    return elapsed


def _kinds(mailbox, address):
    return [m.subject.split("：")[0] for m in _reminders(mailbox, address)]


@pytest.fixture
def celery_delivery(app, celery_worker, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "inline")  # this process's own emails (receipts)
    return celery_worker


def test_the_worker_sends_reminders_at_each_offset_to_the_right_members(celery_delivery, session, mailbox):
    worker = celery_delivery
    t0 = utcnow().replace(microsecond=0)
    tender = b.published(t0, undertaker_types=["social_organization"], title="居家养老上门服务（沂南）")
    _org("follower@example.com")
    _org("company@example.com", org_type="enterprise")  # not of the tender's undertaker types
    submitter = _org("submitter@example.com")
    cancelled = b.published(t0, title="终止的项目")
    fan, _ = _org("fan@example.com", follow=False)  # a draft on the cancelled tender only
    bids.get_or_create(session, cancelled, fan, today=b.TODAY)
    session.commit()
    tenders.cancel(session, cancelled, reason="预算调整", actor=None, now=t0)
    session.commit()
    deadline = as_utc(tender.bid_deadline)
    mailbox.clear()
    latencies = {}

    latencies["72h"] = _plan(worker, mailbox, deadline - timedelta(hours=72), expect=2)
    assert _kinds(mailbox, "follower@example.com") == ["投标截止提醒（72 小时）"]
    assert _kinds(mailbox, "submitter@example.com") == ["投标截止提醒（72 小时）"]
    message = _reminders(mailbox, "follower@example.com")[0]
    assert message.subject == "投标截止提醒（72 小时）：居家养老上门服务（沂南）"  # decoded
    head = message.raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # RFC 2047 on the wire
    assert b"=?utf-8?" in head.lower()
    assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:5000/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    _plan(worker, mailbox, deadline - timedelta(hours=71), expect=0)  # again: nothing new

    b.submitted_bid(tender, who=submitter)  # submitting stops the submitter's reminders
    latencies["24h"] = _plan(worker, mailbox, deadline - timedelta(hours=24), expect=1)
    assert _kinds(mailbox, "follower@example.com") == ["投标截止提醒（72 小时）", "投标截止提醒（24 小时）"]
    latencies["2h"] = _plan(worker, mailbox, deadline - timedelta(hours=2), expect=1)
    assert _kinds(mailbox, "follower@example.com")[-1] == "投标截止提醒（2 小时）"
    assert _kinds(mailbox, "submitter@example.com") == ["投标截止提醒（72 小时）"]

    # An amendment moves the deadline: the reminders are planned afresh.
    amended_at = deadline - timedelta(hours=1)
    new_deadline = amended_at + timedelta(days=16)
    tenders.amend(session, session.get(Tender, tender.id), {"bid_deadline": new_deadline}, summary="截止时间延后",
                  actor=None, now=amended_at, rules=b.rules())
    session.commit()
    mailbox.clear()
    _plan(worker, mailbox, new_deadline - timedelta(hours=72), expect=2)  # the submitter must confirm: told again
    assert _kinds(mailbox, "follower@example.com") == ["投标截止提醒（72 小时）"]
    assert _kinds(mailbox, "submitter@example.com") == ["投标截止提醒（72 小时）"]

    assert _reminders(mailbox, "company@example.com") == [] and _reminders(mailbox, "fan@example.com") == []
    assert all("终止的项目" not in m.subject for m in mailbox.messages)
    print("\nplanner → SMTP sink (real worker): " + ", ".join(f"{k} {v:.2f}s" for k, v in latencies.items()))
    assert all(v < 60 for v in latencies.values())


@pytest.mark.once_in_ci
def test_with_real_beat_a_reminder_arrives_within_five_minutes_of_its_time(celery_delivery, app, session, mailbox,
                                                                          tmp_path):
    """Beat on its real schedule (plan_reminders every minute): the 2 h
    reminder of a tender whose deadline is 2 h and 15 s away arrives at the
    SMTP server within 5 minutes of its due time (measured and printed)."""
    from workers.schedule import beat_schedule

    assert beat_schedule["plan_reminders"]["schedule"] == timedelta(minutes=1)
    worker = celery_delivery
    tender = b.published()
    _org("beat@example.com")
    due = utcnow() + timedelta(seconds=15)
    deadline = due + timedelta(hours=2)
    session.execute(sa.update(Tender).where(Tender.id == tender.id).values(bid_deadline=deadline,
                                                                           next_due_at=deadline))
    session.commit()
    mailbox.clear()
    two_hours = "投标截止提醒（2 小时）："
    with beat_process(app, worker, tmp_path) as log:
        wait_for(lambda: any(m.subject.startswith(two_hours) for m in mailbox.to("beat@example.com")),
                 timeout=300, interval=0.05, message=f"the 2 h reminder; beat log:\n{log.read_text()[-3000:]}")
        arrived = utcnow()
    # A beat tick before the due time may have sent the 24 h reminder (overtaken offsets are not sent).
    # (Beat's plan_alerts also sends the new-tender alert: not counted here.)
    assert _kinds(mailbox, "beat@example.com")[-1] == "投标截止提醒（2 小时）"
    assert _kinds(mailbox, "beat@example.com").count("投标截止提醒（2 小时）") == 1
    delay = (arrived - due).total_seconds()
    print(f"\nreminder due → arrival at the SMTP sink with beat's real cadence: {delay:.1f}s")
    assert 0 <= delay < 300, log.read_text()[-3000:]
