"""Security headers on every response, session cookie flags, and pages that
still render under the strict Content-Security-Policy."""
import re

import pytest

from procure import create_app
from tests import factories
from tests.conftest import csrf_token, login

EXPECTED = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
}
CSP_DIRECTIVES = [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "frame-ancestors 'none'", "form-action 'self'", "base-uri 'self'",
]

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=\s*[\"']", re.I)


def assert_secure_headers(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    csp = response.headers.get("Content-Security-Policy", "")
    for directive in CSP_DIRECTIVES:
        assert directive in csp, directive
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def assert_csp_clean(html: str) -> None:
    """No inline script, style element/attribute or event handler: the CSP would block them."""
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not INLINE_STYLE.search(html), INLINE_STYLE.search(html).group(0)


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("get", "/", 200),
        ("get", "/account/login", 200),
        ("get", "/account/reset", 200),
        ("get", "/no/such/page", 404),
        ("get", "/account/password", 302),
        ("post", "/account/logout", 400),  # no CSRF token
        ("get", "/static/procure.css", 200),
        ("get", "/bootstrap/static/css/bootstrap.min.css", 200),
        ("get", "/healthz", 200),
    ],
)
def test_every_kind_of_response_carries_the_headers(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert_secure_headers(response)


def test_rate_limited_response_carries_the_headers(client):
    token = csrf_token(client)
    for _ in range(6):
        response = client.post("/account/login", data={"email": "x@example.com", "password": "no no no no",
                                                        "csrf_token": token})
    assert response.status_code == 429
    assert_secure_headers(response)


def test_pages_load_their_css_from_the_site_and_have_no_inline_code(client):
    factories.officer(email="o@example.com")
    for path in ("/", "/account/login", "/account/reset"):
        html = client.get(path).get_data(as_text=True)
        assert '<link rel="stylesheet" href="/bootstrap/static/css/bootstrap.min.css">' in html
        assert_csp_clean(html)
    login(client, "o@example.com", factories.PASSWORD)
    for path in ("/", "/account/password"):
        assert_csp_clean(client.get(path).get_data(as_text=True))


def test_hsts_only_when_served_over_https(app, client, monkeypatch):
    assert "Strict-Transport-Security" not in client.get("/").headers
    monkeypatch.setitem(app.config, "BASE_URL", "https://procure.example.gov.cn")
    assert client.get("/").headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_is_httponly_and_samesite_lax(client):
    factories.officer(email="o@example.com")
    token = csrf_token(client)
    response = client.post("/account/login", data={"email": "o@example.com", "password": factories.PASSWORD,
                                                    "csrf_token": token, "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember_cookie):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # development over http


def test_cookies_are_secure_in_production_over_https(tmp_path, monkeypatch):
    monkeypatch.setenv("PROCURE_BASE_URL", "https://procure.example.gov.cn")
    app = create_app({"ENV": "production", "SECRET_KEY": "kP3v9-xQ2mZ7wR4tY8uI1oA6sD5fG0hJ", "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
                      "SEAL_KEYS": "k1:" + "A" * 43 + "="})  # production needs a bid sealing key
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"



def test_client_address_behind_a_trusted_proxy(tmp_path):
    def seen_address(trusted: int) -> str:
        app = create_app({"TRUSTED_PROXIES": trusted, "SECRET_KEY": "x" * 40, "INSTANCE_PATH": str(tmp_path),
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})

        @app.get("/_remote")
        def remote():
            from flask_limiter.util import get_remote_address

            return get_remote_address()

        return app.test_client().get("/_remote", headers={"X-Forwarded-For": "203.0.113.7"},
                                     environ_base={"REMOTE_ADDR": "172.18.0.1"}).get_data(as_text=True)

    assert seen_address(0) == "172.18.0.1"  # the header is not trusted by default
    assert seen_address(1) == "203.0.113.7"
