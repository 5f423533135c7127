"""A real worker process on a real broker (Redis when PROCURE_TEST_REDIS_URL is
set, the embedded SQLAlchemy transport otherwise), beat's schedule, and the
periodic lock."""
from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa

from procure.accounts.models import User
from procure.queue import enqueue
from procure.timeutil import utcnow
from tests import factories
from tests.fixtures.worker import beat_process, wait_for
from workers import health
from workers.locks import periodic_lock

pytestmark = pytest.mark.worker


def _name_in_db(session, user_id):
    session.rollback()  # end any snapshot: see what the worker committed
    return session.scalar(sa.select(User.name).where(User.id == user_id))


def test_task_enqueued_after_commit_changes_the_database(celery_worker, session):
    user = factories.user()  # committed
    enqueue("tests.probe.rename_user", user.id, "后台任务改的名字")
    wait_for(
        lambda: _name_in_db(session, user.id) == "后台任务改的名字",
        timeout=30, message=f"the worker to rename the user; worker log:\n{celery_worker.log()[-3000:]}",
    )


def test_many_tasks_from_several_threads_are_each_run_once(celery_worker, session, tmp_path, app):
    from concurrent.futures import ThreadPoolExecutor

    out = tmp_path / "lines"

    def send(i):
        with app.app_context():
            enqueue("tests.probe.append_line", str(out), f"line-{i}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send, range(40)))
    wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 40, timeout=60, message="40 tasks")
    time.sleep(0.5)  # a duplicate delivery would show up now
    assert sorted(out.read_text().splitlines()) == sorted(f"line-{i}" for i in range(40))


def test_heartbeat_task_records_the_beat(celery_worker, app_ctx):
    before = utcnow()
    enqueue("workers.tasks.heartbeat")
    beat = wait_for(lambda: (lambda t: t if t and t >= before else None)(health.last_heartbeat()),
                    timeout=30, message="a heartbeat")
    assert beat <= utcnow()


def test_lock_keeps_a_periodic_task_from_overlapping(celery_worker, app_ctx):
    stamp = health.record_heartbeat()
    with periodic_lock("heartbeat", timeout=60) as acquired:
        assert acquired
        task_id = enqueue("workers.tasks.heartbeat")
        wait_for(lambda: f"{task_id}] succeeded" in celery_worker.log(), timeout=30, message="the skipped run")
        assert f"{task_id}] succeeded in" in celery_worker.log()
        assert health.last_heartbeat() == stamp  # the overlapping run did nothing
    task_id = enqueue("workers.tasks.heartbeat")
    wait_for(lambda: f"{task_id}] succeeded" in celery_worker.log(), timeout=30, message="the second run")
    assert health.last_heartbeat() > stamp


def test_beat_schedule_holds_the_periodic_tasks(celery_app):
    from workers.schedule import beat_schedule

    schedule = celery_app.conf.beat_schedule
    assert schedule == beat_schedule
    assert schedule["heartbeat"]["task"] == "workers.tasks.heartbeat"
    for entry in schedule.values():
        assert entry["task"] in celery_app.tasks, f"{entry['task']} is scheduled but not registered"


def test_beat_process_sends_the_heartbeat_the_worker_records(celery_worker, app, app_ctx, tmp_path):
    before = utcnow()
    with beat_process(app, celery_worker, tmp_path, {"PROCURE_HEARTBEAT_SECONDS": "0.5"}) as log:
        wait_for(lambda: (lambda t: t and t >= before)(health.last_heartbeat()),
                 timeout=45, message=f"beat's heartbeat; beat log:\n{log.read_text()[-3000:]}")


def test_periodic_lock_is_exclusive_and_released(app, broker, app_ctx):
    with periodic_lock("exclusive", timeout=30) as first:
        with periodic_lock("exclusive", timeout=30) as second:
            assert first and not second
    with periodic_lock("exclusive", timeout=30) as again:
        assert again


@pytest.mark.skipif(not os.environ.get("PROCURE_TEST_REDIS_URL"), reason="Redis locks expire; flock needs no expiry")
def test_redis_lock_of_a_dead_holder_expires(app, broker, app_ctx):
    from workers.locks import key, redis_client

    held = redis_client().lock(key("lock:expiring"), timeout=0.5)  # a holder that never releases
    assert held.acquire(blocking=False)
    with periodic_lock("expiring", timeout=30) as acquired:
        assert not acquired
    time.sleep(0.7)
    with periodic_lock("expiring", timeout=30) as acquired:
        assert acquired


def test_expire_suspensions_task_lifts_past_suspensions_once(celery_app, session, mailbox):
    from datetime import timedelta

    from flask import current_app

    from procure.organizations import services as organizations
    from procure.organizations.models import OrgStatus
    from workers.tasks import expire_suspensions

    officer = factories.officer()
    org = factories.organization(status="verified", officer_user=officer)
    today = organizations.local_today(current_app.config["TIMEZONE"])
    organizations.suspend(session, org, officer=officer, reason="列入失信名单", until=today - timedelta(days=1),
                          today=today - timedelta(days=30))
    session.commit()

    assert expire_suspensions.apply().get() == 1
    assert expire_suspensions.apply().get() == 0  # idempotent
    session.rollback()
    session.refresh(org)
    assert org.status == OrgStatus.VERIFIED


def test_an_embedded_broker_worker_polls_at_the_configured_interval(app, monkeypatch, tmp_path):
    """kombu's SQLAlchemy transport looks at an empty queue once a second by
    default, which delays the first batch of every fan-out; the worker uses
    BROKER_POLLING_INTERVAL (set on the transport class: its transport
    options go to create_engine)."""
    from celery import Celery
    from kombu.transport import sqlalchemy as kombu_sqlalchemy

    from workers import celery_app as module

    monkeypatch.setattr(kombu_sqlalchemy.Transport, "polling_interval", 1.0)
    monkeypatch.setattr(module, "_flask_app", app)
    monkeypatch.setitem(app.config, "BROKER_URL", f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}")
    monkeypatch.setitem(app.config, "BROKER_POLLING_INTERVAL", 0.25)
    module._configure(sender=Celery("probe"))
    assert kombu_sqlalchemy.Transport.polling_interval == 0.25
    monkeypatch.setitem(app.config, "BROKER_URL", "redis://127.0.0.1:1/0")
    kombu_sqlalchemy.Transport.polling_interval = 1.0
    module._configure(sender=Celery("probe"))
    assert kombu_sqlalchemy.Transport.polling_interval == 1.0  # only for the embedded broker


@pytest.mark.skipif(not os.environ.get("PROCURE_TEST_REDIS_URL"), reason="the web's sending transport is Redis's")
def test_the_web_sends_to_redis_with_one_client_per_channel_and_the_usual_messages(app, app_ctx, monkeypatch):
    """kombu built a ``redis.Redis`` for every message; the web's sending
    transport keeps one per channel. The messages are Celery's, as before."""
    import json
    import uuid

    import redis

    from procure import queue

    monkeypatch.setitem(app.config, "BROKER_URL", os.environ["PROCURE_TEST_REDIS_URL"])
    name = f"test-sending-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "TASK_QUEUE", name)
    made = []
    original = redis.Redis.__init__

    def counting(self, *args, **kwargs):
        made.append(kwargs.get("connection_pool"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    try:
        ids = [enqueue("workers.tasks.send_email", 0)]  # connects (and makes its clients)
        made.clear()
        ids += [enqueue("workers.tasks.send_email", n) for n in range(1, 5)]
        assert made == []  # kombu's own transport makes one per message
        raw = redis.Redis.from_url(os.environ["PROCURE_TEST_REDIS_URL"]).lrange(name, 0, -1)
        messages = [json.loads(m) for m in reversed(raw)]
        assert [m["headers"]["id"] for m in messages] == ids
        assert {m["headers"]["task"] for m in messages} == {"workers.tasks.send_email"}
        assert [json.loads(__import__("base64").b64decode(m["body"]))[0] for m in messages] == [[n] for n in range(5)]
        assert all(m["properties"]["delivery_info"]["routing_key"] == name for m in messages)
    finally:
        server = redis.Redis.from_url(os.environ["PROCURE_TEST_REDIS_URL"])
        for key in server.scan_iter(f"*{name}*"):  # the queue and kombu's bindings
            server.delete(key)
        queue._clients.pop((os.environ["PROCURE_TEST_REDIS_URL"], name), None)
