"""Pages: follows, email preferences, undeliverable addresses shown to the
user / organization admin / officer, the admin's failed-emails page with its
retry button; the broker pruning job."""
from __future__ import annotations

import sqlalchemy as sa

from procure.alerts import preferences
from procure.alerts.models import OrganizationFollow
from procure.notifications.models import EmailStatus, Notification
from tests import factories
from tests.conftest import csrf_token, login
from tests.notifications.helpers import notify_test


def _refuse(mailbox, session, address):
    n = notify_test(email=address)
    session.commit()  # inline delivery: refused
    return n


def test_an_undeliverable_address_is_shown_to_the_user_the_org_admin_and_the_officer(app, session, mailbox):
    officer = factories.officer("371321", email="off@example.com")
    admin = factories.user(email="boss@example.com")
    org = factories.organization("371321", admin_user=admin, officer_user=officer)
    member = factories.org_member(org, email="bounce@example.com")
    with mailbox.rejecting("550 5.1.1 user unknown"):
        _refuse(mailbox, session, "bounce@example.com")

    def page(user, path):
        client = app.test_client()
        login(client, user.email, factories.PASSWORD)
        response = client.get(path)
        assert response.status_code == 200, path
        return response.get_data(as_text=True)

    assert 'data-testid="undeliverable"' in page(member, "/inbox")
    assert "bounce@example.com（550）" in page(member, "/account/email-preferences")
    assert 'data-testid="undeliverable"' in page(admin, "/organizations/mine/members")
    assert 'data-testid="undeliverable"' in page(officer, f"/manage/organizations/{org.id}")
    # the warning is about the viewer's own address: the admin's inbox has none
    assert 'data-testid="undeliverable"' not in page(admin, "/inbox")


def test_admin_sees_failed_emails_with_the_error_and_retries_one(app, session, mailbox):
    admin = factories.admin(email="root@example.com")
    with mailbox.rejecting("554 5.7.1 <x@example.com>: rejected <script>"):
        n = _refuse(mailbox, session, "x@example.com")
    capped = notify_test(email="capped@example.com")
    session.commit()
    capped.email_status, capped.email_attempts, capped.last_error = EmailStatus.FAILED, 99, "TimeoutError: slow"
    session.commit()
    mailbox.clear()

    client = app.test_client()
    login(client, admin.email, factories.PASSWORD)
    html = client.get("/manage/emails/failed").get_data(as_text=True)
    assert "x@example.com" in html and "554" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert "capped@example.com" in html and "TimeoutError: slow" in html

    response = client.post(f"/manage/emails/{n.id}/retry", data={"csrf_token": csrf_token(client, "/manage/emails/failed")})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Notification, n.id).email_status == EmailStatus.SENT
    assert len(mailbox.to("x@example.com")) == 1  # the address's mark was lifted by the admin's retry
    assert client.post(f"/manage/emails/{n.id}/retry",
                       data={"csrf_token": csrf_token(client, "/manage/emails/failed")}).status_code == 404  # sent now


def test_org_admin_follows_a_county_and_a_member_cannot(app, session):
    admin = factories.user(email="fa@example.com")
    org = factories.organization("371321", admin_user=admin)
    member = factories.org_member(org, email="fm@example.com")
    client = app.test_client()
    login(client, member.email, factories.PASSWORD)
    token = csrf_token(client, "/organizations/mine/follows")
    assert client.post("/organizations/mine/follows", data={"county": "371321", "csrf_token": token}).status_code == 403

    client = app.test_client()
    login(client, admin.email, factories.PASSWORD)
    token = csrf_token(client, "/organizations/mine/follows")
    bad = client.post("/organizations/mine/follows", data={"county": "371321", "category": "<b>", "csrf_token": token})
    assert bad.status_code == 400 and "类别编码只能包含字母和数字" in bad.get_data(as_text=True)
    assert client.post("/organizations/mine/follows", data={"county": "371321", "csrf_token": token}).status_code == 302
    follows = session.scalars(sa.select(OrganizationFollow)).all()
    assert [(f.organization_id, f.category_code) for f in follows] == [(org.id, "")]


def test_a_member_chooses_a_daily_digest(app, session):
    user = factories.user(email="pref@example.com")
    client = app.test_client()
    login(client, user.email, factories.PASSWORD)
    token = csrf_token(client, "/account/email-preferences")
    response = client.post("/account/email-preferences", data={
        "tender_alerts": "digest", "deadline_reminders": "off", "csrf_token": token})
    assert response.status_code == 302
    assert preferences.all_for(session, user.id)[preferences.TENDER_ALERTS] == preferences.DIGEST
    assert preferences.all_for(session, user.id)[preferences.DEADLINE_REMINDERS] == preferences.OFF
    bad = client.post("/account/email-preferences", data={"tender_alerts": "all", "deadline_reminders": "off",
                                                          "csrf_token": token})
    assert bad.status_code == 400
    assert preferences.all_for(session, user.id)[preferences.TENDER_ALERTS] == preferences.DIGEST  # untouched


def test_prune_broker_deletes_delivered_messages_of_the_embedded_broker(app, tmp_path):
    from kombu import Connection

    from procure import queue

    config = {"BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}", "INSTANCE_PATH": str(tmp_path),
              "TASK_QUEUE": "prune-test", "TIMEZONE": "Asia/Shanghai"}
    queue.prepare_broker(config)
    with Connection(config["BROKER_URL"]) as conn:
        q = conn.SimpleQueue("prune-test")
        for i in range(5):
            q.put({"n": i})
        for _ in range(3):
            q.get(timeout=5).ack()  # delivered: kombu keeps them, invisible
        q.close()
    assert queue.prune_broker(config, older_than_seconds=3600, dry_run=True) == 0  # too recent
    assert queue.prune_broker(config, older_than_seconds=0, dry_run=True) == 3
    assert queue.prune_broker(config, older_than_seconds=0) == 3
    engine = sa.create_engine(config["BROKER_URL"].split("+", 1)[1])
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM kombu_message")).scalar() == 2  # undelivered kept
    engine.dispose()
    assert queue.prune_broker({**config, "BROKER_URL": "redis://127.0.0.1:1/0"}, older_than_seconds=0) == 0


def test_the_follows_page_offers_the_own_countys_catalog_categories_to_follow(app, session):
    from tests.querycount import assert_constant_queries

    admin = factories.user(email="picker@example.com")
    org = factories.organization("371321", admin_user=admin)
    catalog = factories.catalog_with_items("371321")
    upper = sorted((c.code, c.name) for c in catalog.categories if c.level <= 2)
    level3 = [c.code for c in catalog.categories if c.level == 3]
    client = app.test_client()
    login(client, admin.email, factories.PASSWORD)

    html = client.get("/organizations/mine/follows").get_data(as_text=True)
    picker = html.split('data-testid="category-picker"', 1)[1].split("</ul>", 1)[0]
    for code, name in upper:
        assert f'name="category" value="{code}"' in picker and name in picker
    assert not any(f'value="{code}"' in picker for code in level3)  # the first two levels only

    code, name = upper[1]
    token = csrf_token(client, "/organizations/mine/follows")
    response = client.post("/organizations/mine/follows",
                           data={"csrf_token": token, "county": "371321", "category": code, "submit": "1"})
    assert response.status_code == 302
    follow = session.scalars(sa.select(OrganizationFollow).where(OrganizationFollow.organization_id == org.id)).one()
    assert (follow.category_code, follow.category_name) == (code, name)
    picker = client.get("/organizations/mine/follows").get_data(as_text=True).split(
        'data-testid="category-picker"', 1)[1].split("</ul>", 1)[0]
    assert f'name="category" value="{code}"' not in picker and "已关注" in picker

    # One query for the categories, however many the catalog and the follows hold.
    def grow():
        from procure.alerts import services as follows

        more = factories.catalog_with_items("371321", items=[
            (f"一级{i % 20}", f"二级{i}", f"三级{i}", f"事项{i}", "内容", ["social_organization"], False)
            for i in range(60)])
        for c in more.categories:
            if c.level == 1:
                follows.follow(session, org, county=factories.county("371321"), category_code=c.code)
        session.commit()

    assert_constant_queries(client, "/organizations/mine/follows", grow)
