"""Every earlier cookie is useless after logout, after a password change and
after an admin disables the account, the remember-me cookie included: each
signed-in browser is a revocable login session (accounts.models.LoginSession).
Proved by replaying the copied cookies from a second client."""
from __future__ import annotations

import pytest

from procure.accounts import services
from procure.accounts.models import LoginSession
from tests import factories
from tests.conftest import csrf_token

EMAIL = "o@example.com"
NEW_PASSWORD = "a different good passphrase 42"
COOKIES = ("session", "remember_token")


def _sign_in(client, remember=True):
    token = csrf_token(client)
    response = client.post("/account/login", data={"email": EMAIL, "password": factories.PASSWORD,
                                                    "csrf_token": token, **({"remember": "y"} if remember else {})})
    assert response.status_code == 302


def _copy(client, names=COOKIES) -> dict[str, str]:
    copied = {}
    for name in names:
        cookie = client.get_cookie(name)
        if cookie is not None:
            copied[name] = cookie.value
    return copied


def _replay(app, cookies: dict[str, str]):
    """A second browser with the copied cookies: is it signed in?"""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    response = thief.get("/account/password")
    return response.status_code == 200


@pytest.fixture
def officer(session):
    return factories.officer(email=EMAIL)


@pytest.mark.parametrize("names", [("session",), ("remember_token",), COOKIES],
                         ids=["session-cookie", "remember-cookie", "both"])
def test_cookie_copied_before_logout_is_useless_after_logout(app, client, officer, names):
    _sign_in(client)
    copied = _copy(client, names)
    assert set(copied) == set(names)
    assert _replay(app, copied)  # the copy works while the session is open
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})
    assert not _replay(app, copied)


def test_logout_ends_only_that_browser(app, client, officer):
    _sign_in(client)
    other = app.test_client()
    _sign_in(other)
    copied = _copy(client)
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})
    assert not _replay(app, copied)
    assert other.get("/account/password").status_code == 200


def test_cookies_copied_before_a_password_change_are_useless_after_it(app, client, officer, monkeypatch):
    monkeypatch.setattr(services, "check_password_strength", lambda *a, **k: None)
    _sign_in(client)
    copied = _copy(client)
    assert _replay(app, copied)
    response = client.post("/account/password", data={
        "current_password": factories.PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "csrf_token": csrf_token(client, "/account/password"),
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert not _replay(app, copied)
    assert client.get("/account/password").status_code == 200  # the browser that changed it stays in


def test_cookies_are_useless_once_an_admin_disables_the_account(app, client, officer):
    _sign_in(client)
    copied = _copy(client)
    assert _replay(app, copied)
    result = app.test_cli_runner().invoke(args=["users", "disable", EMAIL])
    assert result.exit_code == 0, result.output
    assert not _replay(app, copied)
    assert client.get("/account/password").status_code == 302
    # Enabling the account again does not revive the old cookies.
    assert app.test_cli_runner().invoke(args=["users", "enable", EMAIL]).exit_code == 0
    assert not _replay(app, copied)


def test_a_disabled_account_is_refused_even_with_an_open_session_record(app, client, officer, session):
    """Disabling by any path (even a direct update of ``active``) signs the user out."""
    _sign_in(client)
    copied = _copy(client)
    officer.active = False
    session.commit()
    assert not _replay(app, copied)


def test_only_a_hash_of_the_cookie_token_is_stored(app, client, officer, session):
    _sign_in(client, remember=False)
    stored = session.query(LoginSession).one()
    with client.session_transaction() as cookie_session:
        token = cookie_session["_user_id"]
    assert token and stored.token_hash != token and len(stored.token_hash) == 64
