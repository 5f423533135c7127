"""Signed-in pages kept server-side (procure.private_pages): served without SQL
once a browser's login session is confirmed, never stale, never shared, and a
revoked session or a disabled account is refused at once as before."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from procure import caching, private_pages
from procure.accounts import services as account_services
from procure.accounts.models import Role, RoleAssignment, User
from procure.catalog import services as catalog_services
from procure.catalog.models import Category
from procure.extensions import cache, db
from procure.organizations.models import Organization
from tests import factories
from tests.conftest import csrf_token, login
from tests.querycount import count_queries

OFFICER = "officer@yinan.example.com"
KEPT_PAGES = ("/manage/catalogs", "/manage/organizations")


@pytest.fixture
def officer(session):
    return factories.officer("371321", email=OFFICER)


@pytest.fixture
def draft(officer):
    return factories.catalog_with_items("371321", 2026, publish=False)


def signed_in(app, email=OFFICER):
    client = app.test_client()
    login(client, email, factories.PASSWORD)
    return client


def kept(client, path: str) -> str:
    """The page once its copy is kept: the browser's first request confirms its
    session, the second renders and keeps the page, the third is served as kept."""
    client.get(path)
    client.get(path)
    with count_queries() as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    assert len(queries) == 0, (path, str(queries))
    return response.get_data(as_text=True)


def queries_of(client, path: str, *, status: int = 200):
    with count_queries() as queries:
        response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response, queries


def test_kept_pages_run_no_sql_and_stay_private(app, officer, draft):
    client = signed_in(app)
    for path in (*KEPT_PAGES, f"/manage/catalogs/{draft.id}"):
        html = kept(client, path)
        assert "officer@yinan.example.com" in html
        response = client.get(path)
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "Cookie" in response.headers["Vary"]
        assert "ETag" not in response.headers
        assert caching.CSRF_PLACEHOLDER not in html and caching.VISITOR_CSRF_PLACEHOLDER not in html


def test_each_browser_gets_its_own_csrf_token_in_a_kept_page_and_it_works(app, officer):
    first, second = signed_in(app), signed_in(app)
    tokens = []
    for client in (first, second):
        html = kept(client, "/manage/catalogs")
        found = set(re.findall(r'name="csrf_token" value="([^"]+)"', html))
        assert len(found) == 1 and "" not in found
        tokens.append(found.pop())
    assert tokens[0] != tokens[1]
    # The token of the kept page creates a draft (and a token of the other browser is refused).
    refused = first.post("/manage/counties/371321/catalogs", data={"csrf_token": tokens[1], "county1-year": "2026"})
    assert refused.status_code == 400
    county_id = factories.county("371321").id
    done = first.post("/manage/counties/371321/catalogs",
                      data={"csrf_token": tokens[0], f"county{county_id}-year": "2026", f"county{county_id}-copy_from": ""})
    assert done.status_code == 302
    assert "已新建 2026 年第 1 版空白草稿" in first.get(done.headers["Location"]).get_data(as_text=True)


def test_a_page_is_kept_per_user(app, officer):
    factories.officer("371321", email="second@yinan.example.com")
    mine = kept(signed_in(app), "/manage/catalogs")
    theirs = kept(signed_in(app, "second@yinan.example.com"), "/manage/catalogs")
    assert OFFICER in mine and "second@yinan.example.com" not in mine
    assert "second@yinan.example.com" in theirs and OFFICER not in theirs


def test_a_cookie_copied_before_logout_is_refused_at_once(app, officer):
    client = signed_in(app)
    kept(client, "/manage/catalogs")
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    kept(thief, "/manage/catalogs")  # the copy is served from the kept page too
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/manage/catalogs")})
    response = thief.get("/manage/catalogs")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_a_disabled_account_is_refused_at_once(app, officer, session):
    client = signed_in(app)
    kept(client, "/manage/organizations")
    assert app.test_cli_runner().invoke(args=["users", "disable", OFFICER]).exit_code == 0
    assert client.get("/manage/organizations").status_code == 302


@pytest.mark.parametrize("by", ["id", "email"])
def test_an_account_disabled_by_a_direct_update_is_refused_at_once(app, officer, session, by):
    client = signed_in(app)
    kept(client, "/manage/catalogs")
    # A bulk update counts too, whether it says which user (by id) or not (by email).
    which = User.id == officer.id if by == "id" else User.email == OFFICER
    session.execute(update(User).where(which).values(active=False))
    session.commit()
    assert client.get("/manage/catalogs").status_code == 302


def test_a_session_ended_while_another_browser_of_the_user_reads_on(app, officer):
    """The page kept for the other browser (same user, same stamp) is never
    served to the ended session: its own copy was confirmed under the old
    generations."""
    ended, other = signed_in(app), signed_in(app)
    thief = app.test_client()
    thief.set_cookie("session", ended.get_cookie("session").value)
    kept(thief, "/manage/catalogs")
    kept(other, "/manage/catalogs")
    ended.post("/account/logout", data={"csrf_token": csrf_token(ended, "/manage/catalogs")})
    kept(other, "/manage/catalogs")  # kept again, under the user's new generation
    assert thief.get("/manage/catalogs").status_code == 302


def test_a_role_taken_away_is_refused_at_once(app, officer, session):
    client = signed_in(app)
    kept(client, "/manage/catalogs")
    session.query(RoleAssignment).filter_by(user_id=officer.id).delete()
    session.commit()
    assert client.get("/manage/catalogs").status_code == 403
    account_services.grant_role(session, session.get(User, officer.id), Role.COUNTY_OFFICER,
                                factories.county("370102"))
    session.commit()
    html = client.get("/manage/catalogs").get_data(as_text=True)
    assert "历下区" in html and "沂南县" not in html


def test_a_draft_edited_anywhere_is_on_the_kept_pages_at_once(app, officer, draft, session):
    client = signed_in(app)
    editor = f"/manage/catalogs/{draft.id}"
    kept(client, editor)
    kept(client, "/manage/catalogs")
    # Through the editor: the page after the redirect and the next one show it.
    leaf = session.query(Category).filter_by(catalog_id=draft.id, name="居家养老").one()
    token = csrf_token(client, editor)
    response = client.post(f"{editor}/categories/{leaf.id}/items/new",
                           data={"csrf_token": token, "name": "上门助浴服务", "undertaker_types": ["enterprise"]})
    assert response.status_code == 302
    assert "上门助浴服务" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert "上门助浴服务" in client.get(editor).get_data(as_text=True)
    # By another process (a service and a commit): at once too.
    catalog_services.rename_category(session, session.get(Category, leaf.id), "居家养老新服务")
    session.commit()
    assert "居家养老新服务" in client.get(editor).get_data(as_text=True)
    # The dashboard's item total and the site bar's draft count follow.
    before = kept(client, "/manage/catalogs")
    factories.catalog_with_items("371321", 2027, publish=False)
    after = client.get("/manage/catalogs").get_data(as_text=True)
    assert after.count("打开") == before.count("打开") + 1
    assert re.search(r'data-testid="work-drafts">2<', after)


def test_a_published_draft_is_read_only_on_the_kept_editor_at_once(app, officer, draft, session):
    client = signed_in(app)
    editor = f"/manage/catalogs/{draft.id}"
    assert f"{editor}/publish" in kept(client, editor)
    catalog_services.publish(session, draft, None)
    session.commit()
    html = client.get(editor).get_data(as_text=True)
    assert f"{editor}/publish" not in html and "只能查看和导出" in html


def test_an_application_decided_elsewhere_is_on_the_kept_queue_at_once(app, officer, session):
    org = factories.organization(status="pending", name="沂南县缓存测试社工服务中心")
    client = signed_in(app)
    assert "沂南县缓存测试社工服务中心" in kept(client, "/manage/organizations")
    session.execute(update(Organization).where(Organization.id == org.id).values(name="沂南县改名社工服务中心"))
    session.commit()
    html = client.get("/manage/organizations").get_data(as_text=True)
    assert "沂南县改名社工服务中心" in html and "沂南县缓存测试社工服务中心" not in html


def test_a_new_message_is_counted_on_the_kept_pages_at_once(app, officer, session):
    from tests.notifications.helpers import notify_test

    client = signed_in(app)
    assert 'data-testid="inbox-unread"' not in kept(client, "/manage/catalogs")
    notify_test(session.get(User, officer.id))
    session.commit()
    assert re.search(r'data-testid="inbox-unread">1<', client.get("/manage/catalogs").get_data(as_text=True))
    kept(client, "/manage/catalogs")
    client.post("/inbox/read-all", data={"csrf_token": csrf_token(client, "/inbox")})
    assert 'data-testid="inbox-unread"' not in client.get("/manage/catalogs").get_data(as_text=True)


def test_a_message_written_by_a_table_statement_is_counted_at_once(app, officer, session):
    """``notify_users`` (the bid receipts) inserts into the table itself, with
    no ORM mapper in the statement: the recipient's generation is raised all the same."""
    from procure.notifications.services import Recipient, notify_users

    client = signed_in(app)
    assert 'data-testid="inbox-unread"' not in kept(client, "/manage/catalogs")
    user = session.get(User, officer.id)
    notify_users(session, template="test_message", context={"title": "表里写的", "message": "内容"},
                 recipients=[("table-insert:1", Recipient(user_id=user.id, email=user.email, name=user.name))])
    session.commit()
    assert re.search(r'data-testid="inbox-unread">1<', client.get("/manage/catalogs").get_data(as_text=True))


def test_kept_pages_follow_the_language(app, officer):
    client = signed_in(app)
    assert '<html lang="zh-CN"' in kept(client, "/manage/organizations")
    token = csrf_token(client, "/manage/organizations")
    assert client.post("/language/en", data={"csrf_token": token}).status_code == 302
    html = client.get("/manage/organizations").get_data(as_text=True)
    assert '<html lang="en"' in html
    assert '<html lang="en"' in kept(client, "/manage/organizations")


def test_a_pending_flash_message_is_shown_not_swallowed(app, officer):
    client = signed_in(app)
    kept(client, "/manage/catalogs")
    with client.session_transaction() as cookie_session:
        cookie_session["_flashes"] = [("info", "一条提示")]
    assert "一条提示" in client.get("/manage/catalogs").get_data(as_text=True)
    assert "一条提示" not in client.get("/manage/catalogs").get_data(as_text=True)


def test_a_remembered_session_is_confirmed_again_after_a_while(app, officer, monkeypatch):
    client = signed_in(app)
    kept(client, "/manage/catalogs")
    monkeypatch.setattr(private_pages, "SESSION_RECHECK_SECONDS", -1.0)
    _response, queries = queries_of(client, "/manage/catalogs")
    assert len(queries) == 1 and "login_sessions" in queries[0]  # the session; then the kept page


def test_a_generation_that_cannot_be_raised_makes_the_process_forget(app, officer, monkeypatch):
    client = signed_in(app)
    kept(client, "/manage/catalogs")
    monkeypatch.setattr(cache, "set", lambda *a, **k: False)
    with app.app_context():
        caching.bump_generation("accounts")
    monkeypatch.undo()
    _response, queries = queries_of(client, "/manage/catalogs")
    assert any("login_sessions" in q for q in queries)


def test_pages_are_served_the_usual_way_when_the_cache_fails(app, officer, monkeypatch):
    client = signed_in(app)
    kept(client, "/manage/catalogs")

    def broken(*args, **kwargs):
        raise ConnectionError("cache backend unreachable")

    monkeypatch.setattr(cache, "get_many", broken)
    response, queries = queries_of(client, "/manage/catalogs")
    assert "沂南县" in response.get_data(as_text=True) and queries


def test_a_page_holding_the_session_token_is_not_kept(app, officer):
    from flask_wtf.csrf import generate_csrf

    with app.test_request_context("/manage/catalogs"):
        token = generate_csrf()
        assert private_pages._holds_session_token(f'<input value="{token}">')
        assert not private_pages._holds_session_token(f'<input value="{caching.CSRF_PLACEHOLDER}">')


@pytest.mark.parametrize("backend", ["filesystem", "redis"])
def test_kept_pages_of_one_process_follow_changes_made_in_another(app, app_ctx, officer, tmp_path, backend):
    """Two processes sharing the cache (here two apps on the same files, or the
    same Redis): a logout in one refuses the session's copies in the other at
    once, and an edit made in one is on the other's kept page at once."""
    import os

    from procure import create_app
    from procure.extensions import limiter

    url = app.config["CACHE_URL"] if backend == "filesystem" else os.environ.get("PROCURE_TEST_REDIS_URL")
    if not url:
        pytest.skip("PROCURE_TEST_REDIS_URL not set")
    saved = dict(vars(limiter))
    settings = {key: app.config[key] for key in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "EMAIL_DELIVERY",
                                                 "SMTP_HOST", "SMTP_PORT")}
    settings |= {"CACHE_URL": url, "CACHE_DIR": str(tmp_path / "cache")}
    try:
        one, other = (create_app({**settings, "INSTANCE_PATH": str(tmp_path / name)}) for name in ("one", "other"))
    finally:
        limiter.__dict__.clear()
        limiter.__dict__.update(saved)
    for each in (one, other):
        each.test_client_class = type(app.test_client())
    with one.app_context():
        cache.clear()
    draft = factories.catalog_with_items("371321", 2026, publish=False)
    editor = f"/manage/catalogs/{draft.id}"
    client = signed_in(one)
    elsewhere = other.test_client()
    elsewhere.set_cookie("session", client.get_cookie("session").value)
    try:
        kept(elsewhere, editor)
        leaf = db.session.query(Category).filter_by(catalog_id=draft.id, name="居家养老").one()
        response = client.post(f"{editor}/categories/{leaf.id}/rename",
                               data={"csrf_token": csrf_token(client, editor), "name": "居家养老另一进程"})
        assert response.status_code == 302
        assert "居家养老另一进程" in elsewhere.get(editor).get_data(as_text=True)
        kept(elsewhere, editor)
        client.post("/account/logout", data={"csrf_token": csrf_token(client, editor)})
        assert elsewhere.get(editor).status_code == 302
    finally:
        for each in (one, other):
            with each.app_context():
                cache.clear()
                db.engine.dispose()


def test_email_delivery_marks_raise_no_generation_reading_does(app, officer, session):
    from procure.notifications.models import EmailStatus, Notification
    from procure.timeutil import utcnow
    from tests.notifications.helpers import notify_test

    name = caching.user_generation_name(officer.id)
    message = notify_test(session.get(User, officer.id))
    session.commit()
    generations = [caching.generation(name), caching.generation("accounts")]
    message.email_status = EmailStatus.SENT  # one by one (ORM) ...
    session.commit()
    session.execute(update(Notification).where(Notification.id == message.id)
                    .values(email_status=EmailStatus.SENT, last_error=None))  # ... or in bulk
    session.commit()
    assert [caching.generation(name), caching.generation("accounts")] == generations
    message.read_at = utcnow()
    session.commit()
    assert caching.generation(name) > generations[0]
    assert caching.generation("accounts") == generations[1]  # only that user's pages
