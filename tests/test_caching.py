"""Caching of public pages (procure.caching): HTTP validators and Cache-Control,
server-side cache keyed by the publication, nothing personal ever cached."""
from __future__ import annotations

import os

import pytest

from procure import caching, config
from procure.extensions import cache
from tests import factories
from tests.conftest import csrf_token, login


def test_anonymous_home_is_public_with_validators_and_answers_304(client):
    factories.catalog_with_items("371321", 2026)
    client.get("/")
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=0, must-revalidate"  # a list: revalidated
    assert "Cookie" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers
    etag = response.headers["ETag"]
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    # The home page also lists open tenders, whose countdowns move with the clock:
    # it validates by ETag only (no Last-Modified taken from the catalogs alone).
    assert "Last-Modified" not in response.headers
    assert client.get("/", headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/counties/371321", "/counties/371321/2026", "/organizations", "/tenders"])
def test_reading_public_pages_creates_no_session(app, app_ctx, path):
    """A visitor who only reads gets no cookie (first visit, render or cache hit),
    so the answer can be shared by any cache."""
    factories.catalog_with_items("371321", 2026)
    for _ in range(3):
        response = app.test_client().get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, path
        assert response.headers["Cache-Control"].startswith("public"), path


def test_a_visitor_without_a_session_switches_language_from_a_page_of_the_site(app, app_ctx):
    factories.catalog_with_items("371321", 2026)
    visitor = app.test_client()
    html = visitor.get("/").get_data(as_text=True)
    assert 'name="csrf_token" value=""' in html  # no session, no token
    assert caching.VISITOR_CSRF_PLACEHOLDER not in html and caching.CSRF_PLACEHOLDER not in html
    # From another site (a forged form): refused, nothing changes.
    forged = visitor.post("/language/en", data={"csrf_token": ""}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 400
    assert visitor.post("/language/en", data={"csrf_token": ""}).status_code == 400  # no origin said
    assert visitor.post("/text-size", data={"size": "large"},
                        headers={"Referer": "https://evil.example/x"}).status_code == 400
    assert 'lang="zh-CN"' in visitor.get("/").get_data(as_text=True)
    # From a page of this site: switched, the session starts here.
    done = visitor.post("/language/en", data={"csrf_token": "", "next": "/"}, headers={"Origin": "http://localhost"})
    assert done.status_code == 302 and "Set-Cookie" in done.headers
    page = visitor.get("/")
    assert '<html lang="en"' in page.get_data(as_text=True)
    assert page.headers["Content-Language"] == "en"
    done = visitor.post("/text-size", data={"size": "large"}, headers={"Referer": "http://localhost/"})
    assert done.status_code == 302
    assert 'class="text-large"' in visitor.get("/").get_data(as_text=True)


def test_a_visitor_with_a_session_gets_their_own_token_from_a_cached_page(app, client):
    factories.catalog_with_items("371321", 2026)
    first, second = app.test_client(), app.test_client()
    for visitor in (first, second):
        visitor.get("/account/login")  # the login form starts a session (its CSRF token)
    token_1, token_2 = csrf_token(first, "/"), csrf_token(second, "/")
    assert token_1 != token_2
    assert caching.CSRF_PLACEHOLDER not in first.get("/").get_data(as_text=True)
    # The token read from the (cached) page works for the language switch.
    assert second.post("/language/en", data={"csrf_token": token_2}).status_code == 302
    assert 'lang="en"' in second.get("/").get_data(as_text=True)
    # Someone else's token is refused, even from a page of this site.
    assert first.post("/language/en", data={"csrf_token": token_2},
                      headers={"Origin": "http://localhost"}).status_code == 400


def test_a_signed_in_user_needs_the_token_to_switch_language(client):
    officer = factories.officer(email="switch@example.com")
    login(client, officer.email, factories.PASSWORD)
    refused = client.post("/language/en", data={"csrf_token": ""}, headers={"Origin": "http://localhost"})
    assert refused.status_code == 400
    assert client.post("/language/en", data={"csrf_token": csrf_token(client, "/")}).status_code == 302


def test_cache_hits_vary_by_language_and_text_size(app, app_ctx):
    factories.catalog_with_items("371321", 2026)
    zh, en, large = app.test_client(), app.test_client(), app.test_client()
    en.post("/language/en", data={"next": "/"}, headers={"Origin": "http://localhost"})
    large.post("/text-size", data={"size": "large"}, headers={"Origin": "http://localhost"})
    for path in ("/", "/counties/371321", "/organizations"):
        for _ in range(2):  # rendered, then a cache hit
            zh_page = zh.get(path).get_data(as_text=True)
            en_page = en.get(path).get_data(as_text=True)
            large_page = large.get(path).get_data(as_text=True)
            assert '<html lang="zh-CN">' in zh_page, path
            assert '<html lang="en"' in en_page, path
            assert 'class="text-large"' in large_page and 'class="text-large"' not in zh_page, path


def test_a_published_catalog_is_on_the_home_page_at_once(client):
    factories.catalog_with_items("371321", 2026)
    html = client.get("/").get_data(as_text=True)
    assert "沂南县" in html and "历城区" not in html
    factories.catalog_with_items("370112", 2026)
    html = client.get("/").get_data(as_text=True)
    assert "沂南县" in html and "历城区" in html


def test_signed_in_users_are_never_served_a_cached_page(client):
    factories.catalog_with_items("371321", 2026)
    anonymous = client.get("/")
    assert anonymous.headers["Cache-Control"].startswith("public, max-age=")
    officer = factories.officer(email="cached@example.com")
    login(client, officer.email, factories.PASSWORD)
    response = client.get("/")
    assert "cached@example.com" in response.get_data(as_text=True)
    assert "public" not in response.headers.get("Cache-Control", "")
    assert "ETag" not in response.headers


def test_a_pending_flash_message_is_shown_not_swallowed_by_the_cache(client):
    client.get("/")
    client.get("/")  # cached now
    client.get("/manage/catalogs")  # login required: flashes "please log in"
    with client.session_transaction() as session:
        assert session.get("_flashes")
    assert "请先登录" in client.get("/").get_data(as_text=True)


def test_rendered_pages_are_kept_server_side(client, monkeypatch):
    factories.catalog_with_items("371321", 2026)
    client.get("/")
    renders = []
    from procure.site import views

    original = views.render_template
    monkeypatch.setattr(views, "render_template", lambda *a, **kw: renders.append(a) or original(*a, **kw))
    client.get("/")
    assert renders == []  # served from the cache
    client.get("/?x=1")  # another URL: another entry
    assert len(renders) == 1


def test_cache_backend_is_chosen_from_the_configuration(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("PROCURE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PROCURE_INSTANCE_PATH", str(tmp_path))
    loaded = config.load()
    assert loaded["CACHE_URL"] == "filesystem"  # make run: files shared by the web processes
    assert loaded["CACHE_DIR"] == str(tmp_path / "cache")
    monkeypatch.setenv("PROCURE_BROKER_URL", "redis://127.0.0.1:6379/3")
    assert config.load()["CACHE_URL"] == "redis://127.0.0.1:6379/3"
    monkeypatch.setenv("PROCURE_CACHE_URL", "null")
    assert config.load()["CACHE_URL"] == "null"


def test_redis_backend_round_trip():
    """Production's backend on the real Redis of the test run."""
    url = os.environ.get("PROCURE_TEST_REDIS_URL")
    if not url:
        pytest.skip("PROCURE_TEST_REDIS_URL not set")
    from flask import Flask
    from flask_caching import Cache

    app = Flask(__name__)
    app.config.update(CACHE_URL=url, CACHE_PAGE_TIMEOUT=60, CACHE_DIR="")
    own = Cache()
    monkey = caching.cache
    try:
        caching.cache = own
        caching.init_app(app)
    finally:
        caching.cache = monkey
    with app.app_context():
        backend = app.extensions["cache"][own]
        assert type(backend).__name__ == "RedisCache"
        own.set("round-trip", "<p>页面</p>")
        assert own.get("round-trip") == "<p>页面</p>"
        own.delete("round-trip")


def test_unknown_cache_url_is_refused(monkeypatch):
    from flask import Flask

    app = Flask(__name__)
    app.config.update(CACHE_URL="memcached://x", CACHE_PAGE_TIMEOUT=60, CACHE_DIR="")
    with pytest.raises(ValueError, match="PROCURE_CACHE_URL"):
        caching.init_app(app)


def test_filesystem_cache_is_shared_between_processes(app, tmp_path):
    """What ``make run``'s several gunicorn processes rely on: an entry written by
    one process is read (and cleared) by another."""
    import subprocess
    import sys

    with app.app_context():
        cache.set("shared-entry", "v1")
    assert app.config["CACHE_URL"] == "filesystem"
    code = (
        "import sys; from flask import Flask; from flask_caching import Cache\n"
        "app = Flask('other'); c = Cache(app, config={'CACHE_TYPE': 'FileSystemCache',"
        " 'CACHE_DIR': sys.argv[1], 'CACHE_KEY_PREFIX': sys.argv[2]})\n"
        "with app.app_context(): print(c.get('shared-entry'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, app.config["CACHE_DIR"], caching.KEY_PREFIX],
        capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    assert out == "v1"


def test_a_cache_hit_runs_no_query(client):
    from tests.querycount import count_queries

    catalog = factories.catalog_with_items("371321", 2026)
    paths = ["/", "/counties/371321", f"/catalogs/{catalog.id}", f"/items/{catalog.items[0].id}",
             "/counties/371321?q=养老", "/organizations"]
    for path in paths:
        for _ in range(3):
            client.get(path)
        with count_queries() as queries:
            assert client.get(path).status_code == 200
        assert len(queries) == 0, (path, str(queries))


def test_the_catalog_generation_rises_with_publishing_only(app, session):
    from procure.catalog import services as catalog_services

    first = caching.catalog_generation()
    assert caching.catalog_generation() == first  # stable while nothing is published
    draft = factories.catalog_with_items("371321", 2026, publish=False)
    assert caching.catalog_generation() == first  # drafts are not public
    catalog_services.publish(session, draft, None)
    session.rollback()
    assert caching.catalog_generation() == first  # rolled back: nothing was published
    catalog_services.publish(session, session.merge(draft), None)
    session.commit()
    second = caching.catalog_generation()
    assert second > first
    factories.catalog_with_items("371321", 2026)  # supersedes the previous version
    assert caching.catalog_generation() > second


def test_a_lost_generation_starts_afresh_above_the_old_one(app, session):
    first = caching.catalog_generation()
    cache.delete(caching.CATALOG_GENERATION)  # evicted, or the cache was restarted
    assert caching.catalog_generation() > first


def test_pages_are_served_when_the_cache_backend_fails(client, monkeypatch):
    """Redis down: every page is rendered afresh, none fails."""
    factories.catalog_with_items("371321", 2026)

    def broken(*args, **kwargs):
        raise ConnectionError("cache backend unreachable")

    for name in ("get", "set", "add"):
        monkeypatch.setattr(cache, name, broken)
    for path in ("/", "/counties/371321", "/counties/371321?q=养老"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "沂南县" in response.get_data(as_text=True)


def test_each_process_keeps_pages_and_follows_announced_publications(app, app_ctx, database_url, tmp_path,
                                                                    monkeypatch):
    """On Redis, a process serves a page it has seen from its own memory (no round
    trip) until another process announces a publication; then the new page at once."""
    url = os.environ.get("PROCURE_TEST_REDIS_URL")
    if not url:
        pytest.skip("PROCURE_TEST_REDIS_URL not set")
    from procure import create_app
    from procure.extensions import limiter

    saved = dict(vars(limiter))
    settings = {key: app.config[key] for key in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "EMAIL_DELIVERY",
                                                 "SMTP_HOST", "SMTP_PORT")}
    try:
        publisher = create_app({**settings, "CACHE_URL": url, "INSTANCE_PATH": str(tmp_path / "a")})
        reader = create_app({**settings, "CACHE_URL": url, "INSTANCE_PATH": str(tmp_path / "b")})
    finally:
        limiter.__dict__.clear()
        limiter.__dict__.update(saved)
    with publisher.app_context():
        cache.clear()
    factories.catalog_with_items("371321", 2026)
    visitor = reader.test_client()
    first = visitor.get("/")
    assert "沂南县" in first.get_data(as_text=True) and "历城区" not in first.get_data(as_text=True)

    round_trips = []
    real_get_many = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda *keys: round_trips.append(keys) or real_get_many(*keys))
    again = visitor.get("/")
    assert again.status_code == 200 and again.headers["ETag"] == first.headers["ETag"]
    assert round_trips == []  # served from the reader's own memory
    monkeypatch.setattr(caching, "LOCAL_TRUST_SECONDS", 0.0)  # the copies are too old: Redis is asked again
    assert visitor.get("/").headers["ETag"] == first.headers["ETag"] and len(round_trips) == 1
    monkeypatch.undo()
    monkeypatch.setattr(cache, "get_many", lambda *keys: round_trips.append(keys) or real_get_many(*keys))
    round_trips.clear()

    factories.catalog_with_items("370112", 2026)  # published (in another process) ...
    with publisher.app_context():
        caching.bump_generation("catalogs")  # ... which raises the generation and announces it
    fresh = visitor.get("/")
    assert "历城区" in fresh.get_data(as_text=True)
    assert fresh.headers["ETag"] != first.headers["ETag"] and round_trips
    with reader.app_context():
        reader.extensions["procure_local_pages"].drop()
    with publisher.app_context():
        cache.clear()


def test_on_files_each_process_keeps_its_pages_and_sees_another_s_publication_at_once(app, app_ctx, tmp_path,
                                                                                       monkeypatch):
    """make run's file cache: a process reads only the generations (small files)
    for a page it holds under them, never the page's file again; a publication
    by another process (its generation raised in the shared files) is seen at once."""
    from procure import create_app
    from procure.extensions import limiter

    saved = dict(vars(limiter))
    settings = {key: app.config[key] for key in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "EMAIL_DELIVERY",
                                                 "SMTP_HOST", "SMTP_PORT")}
    shared = str(tmp_path / "cache")
    try:
        publisher = create_app({**settings, "CACHE_URL": "filesystem", "CACHE_DIR": shared,
                                "INSTANCE_PATH": str(tmp_path / "a")})
        reader = create_app({**settings, "CACHE_URL": "filesystem", "CACHE_DIR": shared,
                             "INSTANCE_PATH": str(tmp_path / "b")})
    finally:
        limiter.__dict__.clear()
        limiter.__dict__.update(saved)
    factories.catalog_with_items("371321", 2026)
    visitor = reader.test_client()
    first = visitor.get("/")
    assert "沂南县" in first.get_data(as_text=True) and "历城区" not in first.get_data(as_text=True)
    assert visitor.get("/").headers["ETag"] == first.headers["ETag"]  # kept in the files and in the reader

    reads = []
    real_get, real_get_many = cache.get, cache.get_many
    monkeypatch.setattr(cache, "get", lambda key: reads.append(key) or real_get(key))
    monkeypatch.setattr(cache, "get_many", lambda *keys: reads.extend(keys) or real_get_many(*keys))
    again = visitor.get("/")
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert reads and all(key in caching.GENERATIONS.values() for key in reads)  # no page file read

    factories.catalog_with_items("370112", 2026)  # published (in another process) ...
    with publisher.app_context():
        caching.bump_generation("catalogs")  # ... which raises the generation in the shared files
    fresh = visitor.get("/")
    assert "历城区" in fresh.get_data(as_text=True) and fresh.headers["ETag"] != first.headers["ETag"]


def test_a_published_or_cancelled_tender_is_on_the_cached_pages_at_once(client, session):
    from procure.tenders import services as tender_services
    from procure.timeutil import utcnow
    from tests.tenders import builders

    draft = builders.draft()
    for path in ("/", "/tenders"):
        for _ in range(2):
            assert draft.title not in client.get(path).get_data(as_text=True)  # drafts are not public
    tender_services.publish(session, draft, actor=None, now=utcnow(), rules=builders.rules())
    session.commit()
    for path in ("/", "/tenders"):
        assert draft.title in client.get(path).get_data(as_text=True)
        assert draft.title in client.get(path).get_data(as_text=True)  # cached
    tender_services.cancel(session, draft, reason="预算调整", actor=None, now=utcnow())
    session.commit()
    for path in ("/", "/tenders"):
        assert draft.title not in client.get(path).get_data(as_text=True)


def test_an_organization_verified_or_renamed_is_in_the_cached_directory_at_once(client, session):
    from procure.organizations import services as org_services

    pending = factories.organization(status="pending", name="缓存测试社工服务中心")
    for _ in range(2):
        assert "缓存测试社工服务中心" not in client.get("/organizations").get_data(as_text=True)
    org_services.approve(session, pending, officer=factories.officer(email="approver@example.com"))
    session.commit()
    assert "缓存测试社工服务中心" in client.get("/organizations").get_data(as_text=True)
    session.execute(sa_update_name(pending.id, "改名后的社工服务中心"))  # a bulk update counts too
    session.commit()
    html = client.get("/organizations").get_data(as_text=True)
    assert "改名后的社工服务中心" in html and "缓存测试社工服务中心" not in html


def sa_update_name(org_id: int, name: str):
    from sqlalchemy import update

    from procure.organizations.models import Organization

    return update(Organization).where(Organization.id == org_id).values(name=name)
