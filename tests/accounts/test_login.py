from tests import factories
from tests.conftest import csrf_token, login


def test_login_logout_and_wrong_password(client):
    factories.officer(email="o@example.com")
    token = csrf_token(client)
    bad = client.post("/account/login", data={"email": "o@example.com", "password": "nope", "csrf_token": token})
    assert bad.status_code == 200 and "邮箱或密码不正确" in bad.get_data(as_text=True)
    login(client, "o@example.com", factories.PASSWORD)
    assert "o@example.com" in client.get("/").get_data(as_text=True)
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})
    assert "o@example.com" not in client.get("/").get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client):
    factories.officer(email="o@example.com")
    response = client.post("/account/login", data={"email": "o@example.com", "password": factories.PASSWORD})
    assert response.status_code in (200, 400)
    assert "o@example.com" not in client.get("/").get_data(as_text=True)


def test_change_password_ends_other_sessions(app, client):
    factories.officer(email="o@example.com")
    other = app.test_client()
    login(client, "o@example.com", factories.PASSWORD)
    login(other, "o@example.com", factories.PASSWORD)
    token = csrf_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={"current_password": factories.PASSWORD, "new_password": "a much better secret",
              "confirm": "a much better secret", "csrf_token": token},
    )
    assert response.status_code == 302
    assert "o@example.com" in client.get("/").get_data(as_text=True)
    assert "o@example.com" not in other.get("/").get_data(as_text=True)


# === brute force =============================================================

import re  # noqa: E402
import time  # noqa: E402

from procure.extensions import limiter  # noqa: E402


def _attempt(client, email, password, token=None):
    return client.post(
        "/account/login", data={"email": email, "password": password, "csrf_token": token or csrf_token(client)}
    )


def _signed_in(client, email) -> bool:
    return email in client.get("/").get_data(as_text=True)


def test_brute_force_locks_the_account_even_for_the_right_password(client):
    factories.officer(email="o@example.com")
    token = csrf_token(client)
    for _ in range(5):
        assert _attempt(client, "o@example.com", "wrong password!", token).status_code == 200
    locked = _attempt(client, "o@example.com", factories.PASSWORD, token)
    assert locked.status_code == 429
    text = locked.get_data(as_text=True)
    assert "该账号登录失败次数过多，已暂时锁定" in text
    assert re.search(r"请在 \d\d:\d\d（北京时间，约 1[45] 分钟后）再试", text)
    assert not _signed_in(client, "o@example.com")
    # Letter case and spaces do not make a new account key.
    assert _attempt(client, " O@Example.com ", factories.PASSWORD, token).status_code == 429
    # When the window has passed (here: the counters are cleared) the right password works.
    limiter.reset()
    assert _attempt(client, "o@example.com", factories.PASSWORD, token).status_code == 302
    assert _signed_in(client, "o@example.com")


def test_lock_ends_when_the_window_passes(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "2 per 1 second")
    factories.officer(email="o@example.com")
    token = csrf_token(client)
    _attempt(client, "o@example.com", "wrong password!", token)
    _attempt(client, "o@example.com", "wrong password!", token)
    assert _attempt(client, "o@example.com", factories.PASSWORD, token).status_code == 429
    time.sleep(1.1)
    assert _attempt(client, "o@example.com", factories.PASSWORD, token).status_code == 302


def test_lock_of_one_account_leaves_others_alone(client):
    factories.officer(email="o@example.com")
    factories.officer(email="p@example.com")
    token = csrf_token(client)
    for _ in range(6):
        _attempt(client, "o@example.com", "wrong password!", token)
    assert _attempt(client, "p@example.com", factories.PASSWORD, token).status_code == 302


def test_many_failures_from_one_address_lock_that_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_IP", "4 per 15 minutes")
    factories.officer(email="victim@example.com")
    token = csrf_token(client)
    for n in range(4):
        assert _attempt(client, f"guess{n}@example.com", "wrong password!", token).status_code == 200
    locked = _attempt(client, "victim@example.com", factories.PASSWORD, token)
    assert locked.status_code == 429
    assert "来自您的网络地址的登录失败次数过多" in locked.get_data(as_text=True)
    assert not _signed_in(client, "victim@example.com")
    other_address = app.test_client()
    response = other_address.post(
        "/account/login",
        data={"email": "victim@example.com", "password": factories.PASSWORD, "csrf_token": csrf_token(other_address)},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert response.status_code == 302


def test_successful_logins_are_not_counted(client):
    factories.officer(email="o@example.com")
    for _ in range(6):  # more than the limit of 5
        login(client, "o@example.com", factories.PASSWORD)
        client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})
    assert _attempt(client, "o@example.com", "wrong password!").status_code == 200


def test_change_password_refuses_bad_input_and_changes_nothing(client, session):
    user = factories.officer(email="o@example.com")
    before = user.password_hash
    login(client, "o@example.com", factories.PASSWORD)
    token = csrf_token(client, "/account/password")
    cases = [
        ({"current_password": "wrong one!!", "new_password": "a much better secret", "confirm": "a much better secret"},
         "当前密码不正确"),
        ({"current_password": factories.PASSWORD, "new_password": "password123", "confirm": "password123"},
         "最常见的密码"),
        ({"current_password": factories.PASSWORD, "new_password": "a much better secret", "confirm": "other"},
         "两次输入的密码不一致"),
        ({"current_password": factories.PASSWORD, "new_password": factories.PASSWORD, "confirm": factories.PASSWORD},
         "新密码不能与当前密码相同"),
    ]
    for data, message in cases:
        response = client.post("/account/password", data={**data, "csrf_token": token})
        assert response.status_code == 200 and message in response.get_data(as_text=True), message
    # Without the CSRF token: refused outright.
    response = client.post("/account/password", data={"current_password": factories.PASSWORD,
                                                      "new_password": "a much better secret",
                                                      "confirm": "a much better secret"})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(type(user), user.id).password_hash == before


def test_missing_csrf_token_gets_a_chinese_explanation(client):
    factories.officer(email="o@example.com")
    response = client.post("/account/login", data={"email": "o@example.com", "password": factories.PASSWORD})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "缺少安全令牌" in text and "CSRF" not in text
