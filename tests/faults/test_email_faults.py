"""Fault tests with real processes: a real Celery worker, a real broker, the
real SMTP server of the tests. Every count is taken at the SMTP sink (what was
received), never from the database's status column.

1. The broker (a redis-server this test starts on a free port) stops while
   users act, then comes back: every action succeeded, every email arrived.
2. The SMTP server refuses for a while, then accepts: every email arrived once.
3. A worker process is killed with SIGKILL in the middle of a 500-message
   batch: none missing; any duplicate carries its original's Message-ID, and
   there are at most EMAIL_MARK_GROUP of them (the marks not yet committed).

Heavy (seconds each, real processes): marked ``faults``; they run on
PostgreSQL (``PROCURE_TEST_DATABASE_URL``), as in CI, and are skipped on the
SQLite run.
"""
from __future__ import annotations

import collections
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from procure import queue
from procure.extensions import db
from procure.notifications import services
from procure.notifications.models import Notification
from tests import factories
from tests.fixtures.worker import start_worker, stop_worker, test_broker_url, wait_for

pytestmark = [
    pytest.mark.faults,
    pytest.mark.worker,
    pytest.mark.skipif(not os.environ.get("PROCURE_TEST_DATABASE_URL"),
                       reason="fault tests run on PostgreSQL (concurrent writers)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _message_ids(mailbox) -> collections.Counter:
    return collections.Counter(str(m["Message-ID"]) for m in mailbox.messages)


def _expected_ids(session, ids) -> set[str]:
    return {f"<notification-{i}@procure.local>" for i in ids}


def _ids_of(session, template=None) -> list[int]:
    session.rollback()
    query = sa.select(Notification.id)
    if template:
        query = query.where(Notification.template == template)
    return list(session.scalars(query))


@pytest.fixture
def worker_for(app, database_url, tmp_path):
    """Start extra workers (stopped at the end of the test)."""
    started = []

    def start(broker_url, task_queue, **kw):
        worker = start_worker(app, database_url=database_url, broker_url=broker_url, queue=task_queue,
                              log_path=tmp_path / f"worker-{len(started)}.log", **kw)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        stop_worker(worker)


class RedisServer:
    def __init__(self, directory: Path):
        self.port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)
        wait_for(lambda: _pings(client), timeout=15, message="redis-server to start")
        client.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def _pings(client) -> bool:
    try:
        return client.ping()
    except Exception:
        return False


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_broker_stopped_while_users_act_every_action_succeeds_and_every_email_arrives(
        app, session, mailbox, worker_for, tmp_path, monkeypatch):
    from procure.organizations import services as org_services

    redis_server = RedisServer(tmp_path)
    redis_server.start()
    task_queue = f"fault-redis-{uuid.uuid4().hex[:8]}"
    try:
        worker = worker_for(redis_server.url, task_queue, env_overrides={"PROCURE_EMAIL_PENDING_GRACE": "1"})
        monkeypatch.setitem(app.config, "BROKER_URL", redis_server.url)
        monkeypatch.setitem(app.config, "TASK_QUEUE", task_queue)
        monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "celery")
        officer = factories.officer("371321", email="fault.officer@example.com")

        def act(n: int) -> None:
            """Registrations, reviews, invitations: each commits and notifies."""
            org = factories.organization("371321", status="pending",
                                         admin_user=factories.user(email=f"fault.admin{n}@example.com"))
            org_services.approve(session, org, officer=officer)
            session.commit()
            org_services.invite(session, org, email=f"fault.invitee{n}@example.com", timezone=app.config["TIMEZONE"],
                                invited_by=session.get(type(officer), org_admin_id(org)))
            session.commit()

        def org_admin_id(org):
            from procure.accounts.models import Role, RoleAssignment

            return session.scalar(sa.select(RoleAssignment.user_id).where(
                RoleAssignment.organization_id == org.id, RoleAssignment.role == Role.ORG_ADMIN))

        for n in range(3):
            act(n)  # broker up
        redis_server.stop()
        started = time.monotonic()
        for n in range(3, 6):
            act(n)  # broker down: the commits stand, the hand-off fails (logged), rows stay pending
        down_for = time.monotonic() - started
        redis_server.start()

        expected = _expected_ids(session, _ids_of(session))
        assert len(expected) >= 6 * 3  # review request, decision, invitation per round (at least)
        # What beat does every minute: the sweep hands on what was not sent.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not expected <= set(_message_ids(mailbox)):
            try:
                queue.enqueue("workers.tasks.flush_outbox")
            except Exception:
                pass
            time.sleep(3)
        received = _message_ids(mailbox)
        missing = expected - set(received)
        assert not missing, f"missing {len(missing)}; worker log:\n{worker.log()[-4000:]}"
        duplicates = {k: v for k, v in received.items() if v > 1}
        assert not duplicates, duplicates
        print(f"\nbroker down for {down_for:.1f}s during 3 rounds of actions; {len(expected)} emails, all arrived once")
    finally:
        if redis_server.process and redis_server.process.poll() is None:
            redis_server.stop()


def test_smtp_refusing_for_a_while_then_accepting_every_email_arrives_once(
        app, session, mailbox, celery_worker, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "celery")
    users = [services.Recipient(user_id=factories.user(email=f"refuse{i}@example.com").id,
                                email=f"refuse{i}@example.com") for i in range(40)]
    mailbox.clear()
    with mailbox.rejecting("451 4.3.0 Try again later"):
        services.notify_many(session, event_key="fault:refusal", template="test_message",
                             context={"title": "拒收后重试", "message": "内容"}, recipients=users, link="/inbox")
        session.commit()  # handed to the worker as a batch
        wait_for(lambda: session.scalar(sa.select(sa.func.count(Notification.id)).where(
            Notification.event_key == "fault:refusal", Notification.email_status == "failed")) == 40,
            timeout=30, message="the first attempts to fail", interval=0.2)
        session.rollback()
        time.sleep(2)  # refused for a while (retries keep failing)
    expected = _expected_ids(session, _ids_of(session, "test_message"))
    wait_for(lambda: expected <= set(_message_ids(mailbox)), timeout=90,
             message=f"every email after the refusals; worker log:\n{celery_worker.log()[-3000:]}")
    time.sleep(1)
    received = _message_ids(mailbox)
    assert all(received[m] == 1 for m in expected), {m: c for m, c in received.items() if c != 1}


def test_worker_killed_in_the_middle_of_a_500_message_batch_nothing_missing_duplicates_keep_their_message_id(
        app, session, mailbox, worker_for, broker, monkeypatch):
    task_queue = f"fault-kill-{uuid.uuid4().hex[:8]}"
    broker_url = broker[0]
    monkeypatch.setitem(app.config, "TASK_QUEUE", task_queue)
    # Prefork with one child: the child sends; the test kills it as the OOM killer would.
    worker = worker_for(broker_url, task_queue, pool="prefork", concurrency=1,
                        env_overrides={"PROCURE_EMAIL_PENDING_GRACE": "2"})
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "nowhere")
    from procure.accounts.models import User

    session.execute(sa.insert(User), [
        {"email": f"kill{i}@example.com", "name": "", "password_hash": "x", "session_token": uuid.uuid4().hex,
         "active": True} for i in range(500)])
    session.commit()
    recipients = [services.Recipient(user_id=uid, email=email) for uid, email in
                  session.execute(sa.select(User.id, User.email).where(User.email.like("kill%")))]
    ids = services.notify_many(session, event_key="fault:kill", template="test_message",
                               context={"title": "批量", "message": "内容"}, recipients=recipients, link="/inbox")
    session.commit()
    assert len(ids) == 500
    mailbox.clear()
    with mailbox.slow(0.004):
        queue.enqueue("workers.tasks.send_email_batch", sorted(ids))
        wait_for(lambda: len(mailbox) >= 150, timeout=60, interval=0.01, message="the batch to be under way")
        children = _children(worker.process.pid)
        assert children, "no pool process"
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        killed_at = len(mailbox)
    assert killed_at < 500, "the batch finished before the kill"
    expected = _expected_ids(session, ids)
    started = time.monotonic()
    deadline = started + 120
    while time.monotonic() < deadline and not expected <= set(_message_ids(mailbox)):
        time.sleep(2)
        if not expected <= set(_message_ids(mailbox)):
            queue.enqueue("workers.tasks.flush_outbox")  # what beat does every minute
    recovered_in = time.monotonic() - started
    received = _message_ids(mailbox)
    missing = expected - set(received)
    assert not missing, f"{len(missing)} missing; worker log:\n{worker.log()[-4000:]}"
    duplicates = {m: c for m, c in received.items() if c > 1}
    # A duplicate is, by construction, the same notification: same Message-ID;
    # check that its content is the same message too.
    for message_id in duplicates:
        copies = [m for m in mailbox.messages if str(m["Message-ID"]) == message_id]
        assert len({(c.subject, c["Date"], tuple(c.rcpt_tos)) for c in copies}) == 1
    # At most the delivered-but-unmarked ones: "sent" marks are committed
    # EMAIL_MARK_GROUP at a time (notifications/delivery.py).
    assert sum(duplicates.values()) - len(duplicates) <= app.config["EMAIL_MARK_GROUP"], duplicates
    print(f"\nkilled after {killed_at}/500 received; all 500 arrived {recovered_in:.1f}s later; "
          f"duplicates: {sum(duplicates.values()) - len(duplicates)} (same Message-ID)")
