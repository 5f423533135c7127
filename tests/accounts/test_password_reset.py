"""Password reset by email: same answer for unknown addresses, signed, expiring,
single-use links, all sessions end, rate limits, CSRF."""
import difflib
import time
from urllib.parse import urlsplit

from sqlalchemy import select

from procure.accounts.models import User
from procure.accounts.passwords import verify_password
from tests import factories
from tests.conftest import csrf_token, login

NEW = "a brand new passphrase"


def _ask(client, email):
    return client.post("/account/reset", data={"email": email, "csrf_token": csrf_token(client, "/account/reset")},
                       follow_redirects=True)


def _reset_link(client, mailbox, email="o@example.com"):
    _ask(client, email)
    return urlsplit(mailbox.to(email)[-1].link(containing="/account/reset/")).path


def _user(session, email="o@example.com"):
    session.expire_all()
    return session.scalar(select(User).where(User.email == email))


def _without_csrf(html: str) -> str:
    import re

    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1TOKEN"', html)


def test_same_answer_whether_or_not_the_email_exists(client, session, mailbox):
    factories.officer(email="o@example.com")
    known = _ask(client, "o@example.com")
    unknown = _ask(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    # The CSRF tokens carry the second they were signed in: not part of the answer.
    known_text = _without_csrf(known.get_data(as_text=True).replace("o@example.com", "EMAIL"))
    unknown_text = _without_csrf(unknown.get_data(as_text=True).replace("nobody@example.com", "EMAIL"))
    assert "如果 EMAIL 是已注册的邮箱" in known_text
    assert known_text == unknown_text, "\n".join(difflib.unified_diff(known_text.splitlines(), unknown_text.splitlines()))
    assert len(mailbox.to("o@example.com")) == 1
    assert mailbox.to("nobody@example.com") == []


def test_reset_sets_the_password_and_ends_every_session(app, client, session, mailbox):
    factories.officer(email="o@example.com")
    other = app.test_client()
    login(other, "o@example.com", factories.PASSWORD)
    link = _reset_link(client, mailbox)
    assert "60 分钟内有效" in mailbox.to("o@example.com")[-1].text

    form = client.get(link)
    assert form.status_code == 200 and "设置新密码" in form.get_data(as_text=True)
    done = client.post(link, data={"password": NEW, "confirm": NEW, "csrf_token": csrf_token(client, link)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/login")

    assert verify_password(_user(session).password_hash, NEW)
    assert "o@example.com" not in other.get("/").get_data(as_text=True)  # the other session ended
    login(client, "o@example.com", NEW)


def test_reset_link_works_only_once(client, session, mailbox):
    factories.officer(email="o@example.com")
    link = _reset_link(client, mailbox)
    token = csrf_token(client, link)
    assert client.post(link, data={"password": NEW, "confirm": NEW, "csrf_token": token}).status_code == 302
    again = client.get(link)
    assert again.status_code == 400
    assert "已经使用过" in again.get_data(as_text=True)
    reuse = client.post(link, data={"password": "yet another passphrase", "confirm": "yet another passphrase",
                                    "csrf_token": token})
    assert reuse.status_code == 400
    assert verify_password(_user(session).password_hash, NEW)


def test_older_links_die_when_a_newer_one_is_used(client, session, mailbox):
    factories.officer(email="o@example.com")
    first = _reset_link(client, mailbox)
    second = _reset_link(client, mailbox)
    assert client.post(second, data={"password": NEW, "confirm": NEW,
                                     "csrf_token": csrf_token(client, second)}).status_code == 302
    assert client.get(first).status_code == 400


def test_expired_link_is_refused(client, session, mailbox, monkeypatch):
    factories.officer(email="o@example.com")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3601)
    link = _reset_link(client, mailbox)
    monkeypatch.setattr(time, "time", real)
    response = client.get(link)
    assert response.status_code == 400 and "链接已过期" in response.get_data(as_text=True)
    before = _user(session).password_hash
    client.post(link, data={"password": NEW, "confirm": NEW, "csrf_token": csrf_token(client)})
    assert _user(session).password_hash == before


def test_weak_new_password_is_refused_and_the_link_stays_usable(client, session, mailbox):
    factories.officer(email="o@example.com")
    link = _reset_link(client, mailbox)
    before = _user(session).password_hash
    weak = client.post(link, data={"password": "password123", "confirm": "password123",
                                   "csrf_token": csrf_token(client, link)})
    assert weak.status_code == 200 and "最常见的密码" in weak.get_data(as_text=True)
    mismatch = client.post(link, data={"password": NEW, "confirm": NEW + "x", "csrf_token": csrf_token(client, link)})
    assert "两次输入的密码不一致" in mismatch.get_data(as_text=True)
    assert _user(session).password_hash == before
    assert client.get(link).status_code == 200


def test_reset_confirms_an_unconfirmed_email(client, session, mailbox):
    factories.user(email="new@example.com", confirmed=False)
    link = _reset_link(client, mailbox, "new@example.com")
    client.post(link, data={"password": NEW, "confirm": NEW, "csrf_token": csrf_token(client, link)})
    assert _user(session, "new@example.com").email_confirmed_at is not None


def test_reset_requests_are_rate_limited_per_email(client, session, mailbox):
    factories.officer(email="o@example.com")
    for _ in range(5):
        assert _ask(client, "o@example.com").status_code == 200
    limited = _ask(client, "o@example.com")
    assert limited.status_code == 429 and "重置请求过于频繁" in limited.get_data(as_text=True)
    assert len(mailbox.to("o@example.com")) == 5


def test_csrf_missing_on_reset_forms_changes_nothing(client, session, mailbox):
    factories.officer(email="o@example.com")
    assert client.post("/account/reset", data={"email": "o@example.com"}).status_code == 400
    assert mailbox.to("o@example.com") == []
    link = _reset_link(client, mailbox)
    before = _user(session).password_hash
    assert client.post(link, data={"password": NEW, "confirm": NEW}).status_code == 400
    assert _user(session).password_hash == before


def test_the_database_does_not_keep_the_link_once_the_email_is_sent(client, session, mailbox):
    from procure.notifications.models import Notification

    factories.officer(email="o@example.com")
    link = _reset_link(client, mailbox)
    token = link.rsplit("/", 1)[-1]
    session.expire_all()
    stored = session.scalars(select(Notification).where(Notification.template == "password_reset")).one()
    assert stored.email_status == "sent"
    assert token not in (stored.body_text + stored.body_html + (stored.link or ""))
    assert client.get(link).status_code == 200  # the emailed link itself still works
