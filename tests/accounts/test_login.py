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
