"""Every place that honours ``next`` sends only a path on this site, judged on
the URL that is really sent (after the normalisation Werkzeug and browsers do)."""
import pytest

from procure.security import safe_next
from tests import factories
from tests.conftest import csrf_token

HOSTILE_NEXT = [
    "/%09/evil.example",  # Werkzeug strips the tab after a naive check: //evil.example
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "///evil.example",
    "/\x00/evil.example",
]


def _lands_on_this_site(location: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    return not parts.scheme and not parts.netloc and location.startswith("/") and not location.startswith("//")


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_safe_next_refuses_everything_that_leaves_the_site(target):
    result = safe_next(target.replace("%09", "\t"))
    assert result is None or _lands_on_this_site(result), result


@pytest.mark.parametrize("target, expected", [
    ("/catalogs/3?q=养老", "/catalogs/3?q=%E5%85%BB%E8%80%81"),
    ("/account/password", "/account/password"),
])
def test_safe_next_keeps_local_paths(target, expected):
    assert safe_next(target) == expected


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_never_redirects_off_site(client, target):
    factories.officer(email="o@example.com")
    token = csrf_token(client)
    response = client.post("/account/login?next=" + _encode(target),
                           data={"email": "o@example.com", "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert _lands_on_this_site(response.headers["Location"]), response.headers["Location"]


def test_login_tab_trick_is_refused(client):
    """The probe: next=/%09/evil.example produced Location: //evil.example."""
    factories.officer(email="o@example.com")
    token = csrf_token(client)
    response = client.post("/account/login?next=/%09/evil.example",
                           data={"email": "o@example.com", "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code in (302, 400)
    assert not response.headers.get("Location", "").startswith("//")


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_language_switch_never_redirects_off_site(client, target):
    token = csrf_token(client, "/")
    response = client.post("/language/en", data={"csrf_token": token, "next": target})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert _lands_on_this_site(response.headers["Location"]), response.headers["Location"]


def test_language_switch_ignores_an_offsite_referrer_host(client):
    token = csrf_token(client, "/")
    response = client.post("/language/en", data={"csrf_token": token},
                           headers={"Referer": "https://evil.example/\t/x"})
    assert _lands_on_this_site(response.headers["Location"])


def _encode(target: str) -> str:
    from urllib.parse import quote

    return quote(target, safe="/:%")
