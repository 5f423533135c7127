"""The on-site inbox: own notifications only, newest first, unread badge, mark read."""
from __future__ import annotations

import re
from datetime import timedelta

from procure.notifications import queries
from procure.timeutil import utcnow
from tests import factories
from tests.conftest import csrf_token, login
from tests.notifications.helpers import notify_test


def _badge(html: str) -> int | None:
    match = re.search(r'data-testid="inbox-unread">(\d+)<', html)
    return int(match.group(1)) if match else None


def test_inbox_requires_login(client):
    response = client.get("/inbox")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert client.get("/inbox/1").status_code == 302
    assert client.post("/inbox/read-all").status_code in (302, 400)


def test_inbox_lists_own_notifications_newest_first_with_unread_highlighted(client, session):
    me, other = factories.user(), factories.user()
    older = notify_test(me, title="较早的消息")
    older.created_at = utcnow() - timedelta(days=1)
    notify_test(me, title="最新的消息")
    notify_test(other, title="别人的消息")
    notify_test(email="someone@example.org", title="邀请消息")
    session.commit()
    older.read_at = utcnow()
    session.commit()

    login(client, me.email, factories.PASSWORD)
    html = client.get("/inbox").get_data(as_text=True)
    assert html.index("最新的消息") < html.index("较早的消息")
    assert "别人的消息" not in html and "邀请消息" not in html
    assert html.count("list-group-item-primary") == 1  # one unread
    assert "1 条未读" in html
    assert _badge(html) == 1


def test_navbar_badge_counts_unread_and_disappears_when_all_read(client, session):
    me = factories.user()
    notify_test(me)
    notify_test(me)
    session.commit()
    login(client, me.email, factories.PASSWORD)
    assert _badge(client.get("/").get_data(as_text=True)) == 2

    token = csrf_token(client, "/inbox")
    response = client.post("/inbox/read-all", data={"csrf_token": token}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已将 2 条消息标记为已读。" in html
    assert _badge(html) is None
    assert queries.unread_count(session, me.id) == 0


def test_opening_a_notification_shows_it_and_marks_it_read(client, session):
    me = factories.user()
    n = notify_test(me, title="审核结果", message="您的机构已通过审核。", link="/counties/371321")
    session.commit()
    login(client, me.email, factories.PASSWORD)

    html = client.get(f"/inbox/{n.id}").get_data(as_text=True)
    assert "测试邮件：审核结果" in html
    assert "您的机构已通过审核。" in html
    assert 'href="/counties/371321"' in html
    assert "请勿直接回复" not in html  # the email signature is not shown on the site
    session.refresh(n)
    assert n.read_at is not None
    first_read = n.read_at
    client.get(f"/inbox/{n.id}")
    session.refresh(n)
    assert n.read_at == first_read  # the first reading time is kept


def test_another_users_notification_is_not_found_and_stays_unread(client, session):
    me, other = factories.user(), factories.user()
    theirs = notify_test(other, title="别人的私信")
    invite = notify_test(email=me.email.upper().replace("@", "+x@"), title="无主消息")
    session.commit()
    login(client, me.email, factories.PASSWORD)
    for target in (theirs.id, invite.id, 999999):
        response = client.get(f"/inbox/{target}")
        assert response.status_code == 404
        assert "别人的私信" not in response.get_data(as_text=True)
    session.refresh(theirs)
    assert theirs.read_at is None


def test_mark_all_read_needs_csrf_and_touches_only_own_notifications(client, session):
    me, other = factories.user(), factories.user()
    mine = notify_test(me)
    theirs = notify_test(other)
    session.commit()
    login(client, me.email, factories.PASSWORD)

    response = client.post("/inbox/read-all", data={})
    assert response.status_code == 400
    assert queries.unread_count(session, me.id) == 1

    response = client.post("/inbox/read-all", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert queries.unread_count(session, me.id) == 1

    response = client.post("/inbox/read-all", data={"csrf_token": csrf_token(client, "/inbox")})
    assert response.status_code == 302
    session.refresh(mine)
    session.refresh(theirs)
    assert mine.read_at is not None and theirs.read_at is None


def test_mark_all_read_with_nothing_unread_says_so(client, session):
    me = factories.user()
    login(client, me.email, factories.PASSWORD)
    response = client.post("/inbox/read-all", data={"csrf_token": csrf_token(client, "/inbox")},
                           follow_redirects=True)
    assert "没有未读消息。" in response.get_data(as_text=True)
    assert "暂无消息。" in response.get_data(as_text=True)


def test_inbox_pages(app, client, session, monkeypatch):
    from procure import queue

    # 31 emails are beside the point here: hand them to a (fake) queue.
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "celery")
    monkeypatch.setattr(queue, "enqueue", lambda *args: None)
    me = factories.user()
    base = utcnow()
    for i in range(queries.INBOX_PAGE_SIZE + 1):
        n = notify_test(me, title=f"消息{i:02d}")
        n.created_at = base - timedelta(minutes=i)
    session.commit()
    login(client, me.email, factories.PASSWORD)
    first = client.get("/inbox").get_data(as_text=True)
    assert "消息00" in first and f"消息{queries.INBOX_PAGE_SIZE:02d}" not in first
    assert "/inbox?page=2" in first
    second = client.get("/inbox?page=2").get_data(as_text=True)
    assert f"消息{queries.INBOX_PAGE_SIZE:02d}" in second and "消息00" not in second
    assert client.get("/inbox?page=3").status_code == 404
    assert client.get("/inbox?page=0").status_code == 404
