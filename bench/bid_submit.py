"""Bid submission throughput through gunicorn on PostgreSQL, next to a naive
INSERT + COMMIT endpoint measured in the same run; and the public
open-tenders page next to a Flask hello endpoint.

    python bench/bid_submit.py [--requests 600] [--concurrency 6] [--workers 3]

The full submission is the real page: POST /bids/tenders/<id> as a signed-in
member of an eligible organization (form validation, sealed draft, DB-clock
deadline check under the tender's shared lock, canonical serialisation and
SHA-256 digest, AES-GCM sealing, version row, receipt notifications in the
outbox, commit, hand-off of the emails to the Redis broker). The receipts'
rows are written without their text (``notifications.services.notify_users``):
it is rendered when the sender claims them, in the worker, which this
benchmark does not run (no email is sent here; the hand-off is). The naive
endpoint (bench/bench_app.py) inserts one bid_versions row of the same columns
and size and commits, nothing else. Target: full >= 0.6 x naive.

bench/bid_submit_profile.py runs the same page in-process: CPU of the web
process and of PostgreSQL per request, its SQL, phases and a cProfile.

Needs PostgreSQL (PROCURE_BENCH_DATABASE_URL, default the local server's
database ``bench_tenders``, whose schema is reset) and Redis
(PROCURE_BENCH_REDIS_URL, default db 5). Loopback only, bounded in count.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import http.cookiejar
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIDDERS = 24


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reset_database(url: str) -> None:
    import sqlalchemy as sa

    base = sa.engine.make_url(url)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": base.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{base.database}"'))
    admin.dispose()
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(env: dict) -> dict:
    """Catalog, a published tender, bidders with their session cookies and CSRF
    tokens (signed as Flask-Login and Flask-WTF do), all through the services."""
    os.environ.update(env)
    from itsdangerous import URLSafeTimedSerializer

    from procure import create_app
    from procure.accounts import services as accounts
    from procure.accounts.models import User
    from procure.bids import services as bids
    from procure.catalog import queries as catalog_queries
    from procure.demo.services import load_demo
    from procure.extensions import db
    from procure.geo import queries as geo_queries
    from procure.organizations import services as orgs
    from procure.organizations.credit_codes import make_code
    from procure.tenders import services as tenders
    from procure.timeutil import utcnow

    app = create_app()
    with app.app_context():
        load_demo(db.session)
        db.session.commit()
        county = geo_queries.county_by_code(db.session, "371321")
        from procure.accounts import queries as account_queries

        officer = account_queries.by_email(db.session, "officer@yinan.example.com")
        catalog = catalog_queries.current_published(db.session, county.id)
        item = next(i for i in catalog.items if "social_organization" in i.undertaker_types)
        township = geo_queries.townships_of(db.session, county)[0]
        now = utcnow()
        rules = tenders.Rules.from_config(app.config)
        tender = tenders.create_draft(db.session, item, tenders.TenderData(
            township_id=township.id, title="压测项目", description="bench", budget=Decimal("900000"),
            max_price=Decimal("900000"), service_start=now.date(), service_end=(now + timedelta(days=300)).date(),
            service_place="bench", method="request_for_quotation", enquiry_deadline=now + timedelta(days=3),
            bid_deadline=now + timedelta(days=7), evaluation_method="lowest_price"), actor=officer, rules=rules)
        tenders.publish(db.session, tender, actor=officer, now=now, rules=rules)
        password_hash = accounts.hash_password("bench-password-2026")
        serializer = app.session_interface.get_signing_serializer(app)
        csrf_serializer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
        members = []
        for i in range(BIDDERS):
            user = User(email=f"bidder{i}@bench.example.com", name=f"投标人{i}",
                                 password_hash=password_hash, email_confirmed_at=now)
            db.session.add(user)
            db.session.flush()
            data = orgs.OrgData(
                name=f"压测社会工作服务中心{i}", credit_code=make_code("52", "371321", f"BEN{i:06d}"),
                org_type="social_service_agency", county=county, address="bench", legal_representative="x",
                contact_person="x", phone="0539-3221000", email=f"org{i}@bench.example.com", budget_funded=False,
                mass_org_affiliate=False, declares_independent_liability=True, declares_sound_accounts=True,
                declares_tax_social_insurance=True, declares_no_major_violation=True)
            org, _ = orgs.register(db.session, data, user=user)
            orgs.approve(db.session, org, officer=officer)
            bid = bids.get_or_create(db.session, tender, org, today=now.date())
            members.append((user, bid))
        db.session.commit()
        raw = secrets.token_hex(20)
        clients = []
        tokens = [accounts.start_session(db.session, user) for user, _ in members]  # login sessions
        db.session.commit()
        for (user, bid), token in zip(members, tokens):
            cookie = serializer.dumps({"_user_id": token, "_fresh": True, "csrf_token": raw})
            clients.append({"cookie": cookie, "csrf": csrf_serializer.dumps(raw), "bid_id": bid.id,
                            "user_id": user.id})
        sealed_size = 400
        return {"tender_id": tender.id, "clients": clients, "sealed_size": sealed_size,
                "cookie_name": app.config.get("SESSION_COOKIE_NAME", "session")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()

    database_url = os.environ.get("PROCURE_BENCH_DATABASE_URL",
                                  "postgresql+psycopg://postgres@127.0.0.1:5432/bench_tenders")
    redis_url = os.environ.get("PROCURE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
    reset_database(database_url)
    instance = tempfile.mkdtemp(prefix="procure-bench-")
    env = dict(os.environ, FLASK_APP="procure", PROCURE_DATABASE_URL=database_url, PROCURE_INSTANCE_PATH=instance,
               PROCURE_BROKER_URL=redis_url, PROCURE_TASK_QUEUE=f"bench-{os.getpid()}",
               PYTHONPATH=os.pathsep.join([str(ROOT / "platform"), str(ROOT)]))
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade", "heads"], env=env, check=True,
                   capture_output=True)
    world = prepare(env)

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench_app:create()", "--pythonpath", str(ROOT / "bench"),
         "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--worker-class", "sync",
         "--no-control-socket"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    clients = world["clients"]

    def request(path, data=None, client=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(base + path, data=body)
        if client is not None:
            req.add_header("Cookie", f"{world['cookie_name']}={client['cookie']}")
        start = time.perf_counter()
        try:
            opener = urllib.request.build_opener(NoRedirect)
            with opener.open(req, timeout=60) as r:
                r.read()
                status = r.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except Exception as exc:  # noqa: BLE001 - counted, not raised
            status = type(exc).__name__
        return status, time.perf_counter() - start

    def full(i):
        client = clients[i % len(clients)]
        return request(f"/bids/tenders/{world['tender_id']}", {
            "csrf_token": client["csrf"], "price": f"{100000 + i}.00", "technical": "服务方案" * 40,
            "team": "社工 3 名", "qualified": "y", "no_collusion": "y", "accepts_terms": "y", "submit": "1"}, client)

    def naive(i):
        client = clients[i % len(clients)]
        return request("/bench/naive-bid", {"bid_id": client["bid_id"], "user_id": client["user_id"],
                                            "size": world["sealed_size"]})

    def page(i):
        return request("/tenders")

    def hello(i):
        return request("/bench/hello")

    results = {}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start: " + open(log.name).read()[-2000:])
                time.sleep(0.3)
        for name, fn in (("warm-up", full), ("naive INSERT+COMMIT", naive), ("full bid submission", full),
                         ("naive INSERT+COMMIT (again)", naive), ("hello", hello), ("open tenders page", page)):
            n = 60 if name == "warm-up" else args.requests
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
                outcomes = list(pool.map(fn, range(n)))
            elapsed = time.perf_counter() - start
            latencies = sorted(t for _, t in outcomes)
            results[name] = n / elapsed
            print(f"{name:30} {n / elapsed:8.1f} req/s  p50 {latencies[n // 2] * 1000:6.1f} ms  "
                  f"p95 {latencies[int(n * 0.95)] * 1000:6.1f} ms  outcomes {dict(collections.Counter(s for s, _ in outcomes))}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        try:
            import redis

            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(f"*bench-{os.getpid()}*"):
                client.delete(key)
        except Exception:  # noqa: BLE001
            pass
    naive_rate = (results["naive INSERT+COMMIT"] + results["naive INSERT+COMMIT (again)"]) / 2
    print(f"workers={args.workers} (sync) concurrency={args.concurrency} requests={args.requests}")
    print(f"full / naive = {results['full bid submission'] / naive_rate:.2f} (target >= 0.6)")
    print(f"open tenders page / hello = {results['open tenders page'] / results['hello']:.2f}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A submission answers 302 (to the bid page): counted as such, not followed."""

    def redirect_request(self, *args, **kwargs):
        return None


if __name__ == "__main__":
    main()
