"""Email confirmation: the signed, expiring, single-use link and the gate that
keeps an unconfirmed user to the public pages."""
import time
from urllib.parse import urlsplit

from sqlalchemy import select

from procure.accounts import services
from procure.accounts.models import User
from tests import factories
from tests.conftest import csrf_token, login


def _path(url: str) -> str:
    return urlsplit(url).path


def _signed_up(session, email="new@example.com"):
    user = factories.user(email=email, confirmed=False)
    services.send_email_confirmation(session, user)
    session.commit()
    return user


def test_confirmation_email_carries_a_link_that_confirms(client, session, mailbox):
    _signed_up(session)
    message = mailbox.one(to="new@example.com")
    assert "确认" in message.subject
    assert "48 小时内有效" in message.text
    link = message.link(containing="/account/confirm/")
    assert link in message.html

    response = client.get(_path(link))
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/login")
    user = session.scalar(select(User).where(User.email == "new@example.com"))
    assert user.email_confirmed_at is not None


def test_reused_link_is_refused_with_a_clear_message(client, session, mailbox):
    _signed_up(session)
    link = _path(mailbox.one(to="new@example.com").link(containing="/account/confirm/"))
    assert client.get(link).status_code == 302
    again = client.get(link)
    assert again.status_code == 400
    assert "已经确认过，此链接不能再次使用" in again.get_data(as_text=True)


def test_expired_link_is_refused_and_changes_nothing(app, client, session, mailbox, monkeypatch):
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 49 * 3600)
    user = _signed_up(session)
    monkeypatch.setattr(time, "time", real)
    link = _path(mailbox.one(to="new@example.com").link(containing="/account/confirm/"))
    response = client.get(link)
    assert response.status_code == 400
    assert "链接已过期" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, user.id).email_confirmed_at is None


def test_tampered_link_is_refused(client, session, mailbox):
    user = _signed_up(session)
    link = _path(mailbox.one(to="new@example.com").link(containing="/account/confirm/"))
    response = client.get(link[:-3] + "xyz")
    assert response.status_code == 400 and "链接无效" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, user.id).email_confirmed_at is None


def test_unconfirmed_user_is_kept_to_public_pages(client, session, mailbox):
    _signed_up(session)
    login(client, "new@example.com", factories.PASSWORD)
    # Pages behind a login lead to "please confirm", not to the login form.
    for path in ("/account/password", "/manage/catalogs", "/inbox"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/account/unconfirmed"), path
    # Public pages work, with a reminder.
    home = client.get("/")
    assert home.status_code == 200
    assert "尚未确认" in home.get_data(as_text=True)
    assert 'action="/account/logout"' in home.get_data(as_text=True)  # and can sign out from anywhere
    page = client.get("/account/unconfirmed")
    assert page.status_code == 200 and "new@example.com" in page.get_data(as_text=True)


def test_unconfirmed_user_can_resend_and_the_new_link_works(client, session, mailbox):
    _signed_up(session)
    login(client, "new@example.com", factories.PASSWORD)
    response = client.post("/account/unconfirmed/resend", data={"csrf_token": csrf_token(client, "/account/unconfirmed")})
    assert response.status_code == 302
    assert len(mailbox.to("new@example.com")) == 2
    newest = mailbox.to("new@example.com")[-1].link(containing="/account/confirm/")
    assert client.get(_path(newest)).status_code == 302
    # Confirmed while signed in: the gate opens at once.
    assert client.get("/account/password").status_code == 200


def test_resend_is_rate_limited(client, session, mailbox):
    _signed_up(session)
    login(client, "new@example.com", factories.PASSWORD)
    token = csrf_token(client, "/account/unconfirmed")
    for _ in range(3):
        client.post("/account/unconfirmed/resend", data={"csrf_token": token})
    limited = client.post("/account/unconfirmed/resend", data={"csrf_token": token}, follow_redirects=True)
    assert "发送过于频繁" in limited.get_data(as_text=True)
    assert len(mailbox.to("new@example.com")) == 4  # the sign-up mail and three resends


def test_resend_without_csrf_token_sends_nothing(client, session, mailbox):
    _signed_up(session)
    login(client, "new@example.com", factories.PASSWORD)
    response = client.post("/account/unconfirmed/resend", data={})
    assert response.status_code == 400
    assert len(mailbox.to("new@example.com")) == 1


def test_login_of_unconfirmed_user_leads_to_confirmation_page(client, session):
    factories.user(email="new@example.com", confirmed=False)
    response = client.post(
        "/account/login",
        data={"email": "new@example.com", "password": factories.PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.headers["Location"].endswith("/account/unconfirmed")


def test_link_for_another_user_logs_out_whoever_is_signed_in(client, session, mailbox):
    factories.officer(email="o@example.com")
    _signed_up(session)
    link = _path(mailbox.one(to="new@example.com").link(containing="/account/confirm/"))
    login(client, "o@example.com", factories.PASSWORD)
    assert client.get(link).headers["Location"].endswith("/account/login")
    assert "o@example.com" not in client.get("/").get_data(as_text=True)


def test_cli_and_factories_create_confirmed_users(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create-township-officer", "--township", "371321101", "--email", "t@example.com",
              "--password", factories.PASSWORD]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["users", "create-officer", "--county", "371321", "--email", "c@example.com",
              "--password", factories.PASSWORD]
    )
    assert result.exit_code == 0, result.output
    session.expire_all()
    for email in ("t@example.com", "c@example.com"):
        assert session.scalar(select(User).where(User.email == email)).email_confirmed_at is not None
