"""Benchmark: fan-out of a deadline reminder to N organizations.

    python bench/fanout.py                           # N=10,000, embedded broker, temporary SQLite
    PROCURE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        python bench/fanout.py --broker redis://127.0.0.1:6379/7 --workers 2

N organizations (one member each) follow a category of 沂南县's published
catalog; a real tender of that category (created and published through the
tenders services) has its bid deadline in 24 h, so its 24 h reminder is due;
the planner finds it through the tenders' registered reminder source. The script measures, in one run:

* raw: ``smtplib`` sending N messages of the same size over ONE connection
  to a local aiosmtpd sink (the reference);
* platform: the time from the planner's start (``plan_reminders``, the beat
  job) to the last message received by the same sink, with real Celery
  worker processes on the chosen broker — messages per second, duplicates
  and missing, counted at the sink by Message-ID.

The database is migrated to "heads" (its data is NOT removed: use a
throw-away database). Not a unit test: the target (≥ 0.8× the raw rate,
0 duplicates, 0 missing) is checked by reading the output.
"""
from __future__ import annotations

import argparse
import collections
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT))
GEO_CSV = ROOT.parent / "shared" / "geo" / "shandong-divisions.csv"


class Sink:
    """aiosmtpd handler: counts Message-IDs and the time of the last message."""

    def __init__(self):
        self.ids: collections.Counter = collections.Counter()
        self.last = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        head = content.split(b"\r\n\r\n", 1)[0]
        message_id = b""
        for line in head.split(b"\r\n"):
            if line[:11].lower() == b"message-id:":
                message_id = line[11:].strip()
                break
        with self.lock:
            self.ids[message_id] += 1
            self.last = time.monotonic()
        return "250 OK"

    def reset(self):
        with self.lock:
            self.ids.clear()
            self.last = 0.0

    def count(self) -> int:
        with self.lock:
            return len(self.ids)


def raw_send(host: str, port: int, n: int, sample: EmailMessage) -> float:
    messages = []
    for i in range(n):
        msg = EmailMessage()
        for header in ("Subject", "From", "Date", "Auto-Submitted"):
            msg[header] = sample[header]
        msg["To"] = f"raw{i}@example.com"
        msg["Message-ID"] = f"<raw-{i}@bench.local>"
        msg.set_content(sample.get_body(("plain",)).get_content(), charset="utf-8")
        msg.add_alternative(sample.get_body(("html",)).get_content(), subtype="html", charset="utf-8")
        messages.append((msg, f"raw{i}@example.com"))
    started = time.monotonic()
    with smtplib.SMTP(host, port) as smtp:
        for msg, to in messages:
            smtp.send_message(msg, to_addrs=[to])
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="organizations (one member each)")
    parser.add_argument("--broker", default="embedded", help="'embedded' or a redis:// URL")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork concurrency)")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="procure-fanout-"))
    os.environ.setdefault("PROCURE_INSTANCE_PATH", str(tmp))
    database_url = os.environ.get("PROCURE_DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite'}"
    broker_url = f"sqla+sqlite:///{tmp / 'broker.sqlite'}" if args.broker == "embedded" else args.broker
    task_queue = f"bench-{uuid.uuid4().hex[:8]}"

    from aiosmtpd.controller import Controller

    import socket

    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()

    from procure import create_app
    from procure.queue import prepare_broker

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp), "BROKER_URL": broker_url,
        "TASK_QUEUE": task_queue, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_port, "EMAIL_DELIVERY": "celery",
    })
    prepare_broker(app.config)
    worker = None
    try:
        with app.app_context():
            subject, recipients = _prepare(app, args.n)
            n = len(recipients)
            print(f"{args.n} organizations follow a category of 沂南县; broker {args.broker}; "
                  f"database {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}; {args.workers} worker process(es)")
            sample = _sample_message(app, subject)

            sink.reset()
            raw_seconds = raw_send("127.0.0.1", smtp_port, args.n, sample)
            raw_rate = args.n / raw_seconds
            print(f"raw smtplib, one connection: {args.n} messages in {raw_seconds:.2f} s = {raw_rate:.0f} msg/s "
                  f"(received {sink.count()})")
            sink.reset()

            worker = _start_worker(app, database_url, broker_url, task_queue, smtp_port, args.workers, tmp)
            from procure.alerts import planner

            from procure.extensions import db
            from procure.timeutil import utcnow

            started = time.monotonic()
            report = planner.plan_reminders(db.session, now=utcnow(), config=app.config, commit=db.session.commit)
            planned = time.monotonic() - started
            deadline = time.monotonic() + args.timeout
            while sink.count() < args.n and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(2)  # late duplicates, if any
            total = (sink.last or time.monotonic()) - started
            expected = {f"<notification-{i}@procure.local>".encode() for i in _ids(db.session, subject)}
            if len(expected) != n:
                print(f"note: the planner wrote {len(expected)} reminders for {n} followers of this run")
            received = dict(sink.ids)
            missing = len(expected - set(received))
            duplicates = sum(c - 1 for c in received.values() if c > 1)
            rate = args.n / total
            print("planner: " + next((line for line in report.lines if subject.key in line), report.lines[0])
                  + f" (wrote the rows in {planned:.2f} s)")
            print(f"platform: planner start → last message received: {total:.2f} s = {rate:.0f} msg/s; "
                  f"received {len(received)}, duplicates {duplicates}, missing {missing}")
            print(f"ratio to raw: {rate / raw_rate:.2f}× (target ≥ 0.8×)")
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        controller.stop()


def _ids(session, subject):
    import sqlalchemy as sa

    from procure.notifications.models import Notification

    session.rollback()
    return set(session.scalars(
        sa.select(Notification.id).where(Notification.event_key.like(f"reminder:{subject.key}:%"))))


def _prepare(app, n: int):
    """Migrated database, the divisions and 沂南县's published catalog (the
    demo's), N verified organizations with one admin each following the
    category of one catalog item, and a real tender of that item published
    ten days ago through the services, its bid deadline 24 h from now less a
    minute (bulk inserts for the organizations: this is set-up, not what is
    measured). Returns (the tender's reminder subject, the members' ids)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from procure.accounts.models import Role, RoleAssignment, User
    from procure.alerts.models import OrganizationFollow
    from procure.catalog import queries as catalog_queries
    from procure.demo.services import load_demo_catalogs
    from procure.demo.tenders import _data, _item
    from procure.extensions import db
    from procure.geo import queries as geo_queries
    from procure.geo import services as geo_services
    from procure.organizations.models import Organization
    from procure.tenders import alerting
    from procure.tenders import services as tenders
    from procure.timeutil import utcnow

    upgrade(revision="heads")
    if geo_queries.county_by_code(db.session, "371321") is None:
        geo_services.import_divisions(db.session, GEO_CSV.read_text(encoding="utf-8"))
        db.session.commit()
    county = geo_queries.county_by_code(db.session, "371321")
    if catalog_queries.current_published(db.session, county.id) is None:
        load_demo_catalogs(db.session)
        db.session.commit()
    item = _item(db.session, county.id)
    run = uuid.uuid4().hex[:6]
    now = utcnow()
    published_at = now + timedelta(hours=24) - timedelta(minutes=1) - timedelta(days=10)
    rules = tenders.Rules.from_config(app.config)
    tender = tenders.create_draft(db.session, item, _data(db.session, county, f"居家养老上门服务（基准测试 {run}）",
                                                          published_at, 10, 0), actor=None, rules=rules)
    tenders.publish(db.session, tender, actor=None, now=published_at, rules=rules)
    code = item.category.code
    users = [{"email": f"bench-{run}-{i}@example.com", "name": f"成员{i}", "password_hash": "x",
              "session_token": uuid.uuid4().hex, "active": True, "email_confirmed_at": now} for i in range(n)]
    db.session.execute(sa.insert(User), users)
    user_ids = list(db.session.scalars(sa.select(User.id).where(User.email.like(f"bench-{run}-%")).order_by(User.id)))
    orgs = [{"name": f"基准机构{run}{i}", "credit_code": f"B{run}{i:011d}"[:18], "org_type": "social_service_agency",
             "county_id": county.id, "address": "沂南县", "legal_representative": "张三", "contact_person": "李四",
             "phone": "13800000000", "email": f"org-{run}-{i}@example.com", "status": "verified"} for i in range(n)]
    db.session.execute(sa.insert(Organization), orgs)
    org_ids = list(db.session.scalars(
        sa.select(Organization.id).where(Organization.name.like(f"基准机构{run}%")).order_by(Organization.id)))
    db.session.execute(sa.insert(RoleAssignment), [
        {"user_id": u, "role": Role.ORG_ADMIN, "organization_id": o} for u, o in zip(user_ids, org_ids)])
    db.session.execute(sa.insert(OrganizationFollow), [
        {"organization_id": o, "county_id": county.id, "category_code": code, "category_name": item.category.name}
        for o in org_ids])
    db.session.commit()
    subject = alerting.subject_for(tender, key=f"tender:{tender.id}:{alerting.deadline_version(tender)}")
    return subject, user_ids


def _sample_message(app, subject):
    from procure.notifications import mail, services
    from procure.notifications.models import Notification
    from procure.timeutil import utcnow

    subject_text, text, html = services.render_email("deadline_reminder", {
        "recipient_name": "成员1", "recipient_email": "x@example.com", "base_url": app.config["BASE_URL"],
        "link_url": app.config["BASE_URL"] + subject.link, "in_inbox": True, "unsubscribe_url": None,
        "subject_title": subject.title, "deadline": "2026-12-10 17:00", "hours": 24}, locale="zh")
    n = Notification(id=0, subject=subject_text, body_text=text, body_html=html, recipient_email="x@example.com",
                     created_at=utcnow(), locale="zh")
    return mail.build_message(n, app.config, unsubscribe_url=app.config["BASE_URL"] + "/unsubscribe/" + "x" * 60)


def _start_worker(app, database_url, broker_url, task_queue, smtp_port, workers, tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCURE_")}
    env.update(PROCURE_DATABASE_URL=database_url, PROCURE_BROKER_URL=broker_url, PROCURE_TASK_QUEUE=task_queue,
               PROCURE_INSTANCE_PATH=str(tmp), PROCURE_SECRET_KEY=app.config["SECRET_KEY"],
               PROCURE_SMTP_HOST="127.0.0.1", PROCURE_SMTP_PORT=str(smtp_port), PYTHONPATH=str(ROOT / "platform"))
    log = open(tmp / "worker.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "--pool", "prefork",
         "--concurrency", str(workers), "--loglevel", "WARNING", "--hostname", f"{task_queue}@%h",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    # Ready when it consumes: a probe task round trip is not available without
    # a result backend, so wait for the log line.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if b" ready." in (tmp / "worker.log").read_bytes() or process.poll() is not None:
            break
        time.sleep(0.2)
    if process.poll() is not None:
        raise SystemExit((tmp / "worker.log").read_text())
    return process


if __name__ == "__main__":
    main()
