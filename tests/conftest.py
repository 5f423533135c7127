"""Test fixtures: a real database (PostgreSQL when PROCURE_TEST_DATABASE_URL is set,
SQLite otherwise), built by running the migrations, never ``create_all``."""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from procure import create_app
from procure.extensions import db

pytest_plugins = ["tests.fixtures.smtp", "tests.fixtures.browser", "tests.fixtures.worker"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
GEO_CSV = SHARED / "geo" / "shandong-divisions.csv"
SAMPLE_XLSX = SHARED / "samples" / "yinan-2026-catalog.xlsx"
# Reference data loaded once per test session and kept between tests.
KEPT_TABLES = {"divisions", "alembic_version", "workday_years", "workday_days"}


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("PROCURE_TEST_DATABASE_URL")
    if url:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:
            url = _per_worker_database(url, worker)
        return url
    return f"sqlite:///{tmp_root / 'test.sqlite'}"


def _per_worker_redis() -> None:
    """Each xdist worker gets its own Redis database number (broker queues, cache
    and rate-limit counters never cross workers): base + 1 + worker index."""
    url = os.environ.get("PROCURE_TEST_REDIS_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return
    parts = urlsplit(url)
    number = (int(parts.path.strip("/") or 0) + 1 + int(worker.removeprefix("gw"))) % 16
    os.environ["PROCURE_TEST_REDIS_URL"] = urlunsplit(parts._replace(path=f"/{number}"))


_per_worker_redis()


def _per_worker_database(url: str, worker: str) -> str:
    """Each xdist worker gets its own PostgreSQL database next to the given one."""
    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _reset_schema(url: str) -> None:
    engine = sa.create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
            # A throw-away test database: commits need not wait for the disk
            # (tests commit thousands of times; measured ~40% faster on a busy
            # machine). Applies to the connections opened from now on.
            name = engine.url.database.replace('"', '""')
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs in its own application context, as in production, even
    when the test holds one open (otherwise ``g``, the login cache and the
    database session would leak between requests and clients)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return _database_url(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory, smtp_server):
    from flask_migrate import upgrade

    from procure.geo import services as geo_services

    _reset_schema(database_url)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production-use",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
            "EMAIL_DELIVERY": "inline",
            # The real SMTP server of tests/fixtures/smtp.py, on loopback.
            "SMTP_HOST": smtp_server.hostname,
            "SMTP_PORT": smtp_server.port,
            "SERVER_NAME": None,
            # Tests with many threads (24 concurrent submissions at the deadline)
            # must not wait for a pooled connection on a busy machine.
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "max_overflow": 40},
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade(revision="heads")
        geo_services.import_divisions(db.session, GEO_CSV.read_text(encoding="utf-8"))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    from procure.extensions import cache, limiter

    with app.app_context():
        limiter.reset()  # rate-limit counters (login lockouts) never leak between tests
        cache.clear()  # nor cached pages
        yield
        db.session.rollback()
        _truncate()
        db.session.remove()


def _truncate() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEPT_TABLES]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE")
        )
    else:
        for table in tables:
            db.session.execute(table.delete())
    # The working calendar seeded by migration 0009 is kept; years entered by a
    # test (as the admin would) are removed.
    db.session.execute(sa.text("DELETE FROM workday_days WHERE year IN (SELECT year FROM workday_years WHERE source = 'admin')"))
    db.session.execute(sa.text("DELETE FROM workday_years WHERE source = 'admin'"))
    db.session.commit()


@pytest.fixture
def session(app_ctx):
    return db.session


@pytest.fixture
def client(app, app_ctx):
    return app.test_client()


def csrf_token(client, path: str = "/account/login") -> str:
    """The CSRF token of the client's session, read from a rendered form."""
    def find(html):
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
            r'name="csrf_token" value="([^"]+)"', html
        )

    match = find(client.get(path).get_data(as_text=True))
    if match is None and path != "/account/login":
        # A visitor who only reads has no session, hence no token in the page's
        # site-wide forms (procure.caching): the login form starts one.
        client.get("/account/login")
        match = find(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email: str, password: str) -> None:
    token = csrf_token(client)
    response = client.post(
        "/account/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


# The test data are catalogs of 2026 (the year of the county samples): the catalog
# clock (procure.catalog.years.now) stands on 28 November 2026, Beijing time,
# whatever the machine's date. Tests about years move it themselves.
CATALOG_TODAY = "2026-11-28T12:00:00+08:00"


@pytest.fixture(autouse=True)
def catalog_clock(monkeypatch):
    from datetime import datetime

    from procure.catalog import years

    moment = {"now": datetime.fromisoformat(CATALOG_TODAY)}
    monkeypatch.setattr(years, "now", lambda: moment["now"])

    def set_clock(iso: str) -> None:
        moment["now"] = datetime.fromisoformat(iso)

    return set_clock
