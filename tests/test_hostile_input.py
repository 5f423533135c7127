"""Input that must never become a 500.

``test_no_get_route_answers_5xx_to_hostile_values`` walks every GET route of
the access matrix (``tests/test_access_matrix.py``: a new route is covered as
soon as it is listed there) and puts hostile values into each path parameter
and into every query parameter the application reads, anonymously and signed
in. Every answer must be below 500; a 4xx HTML answer must be the normal page
(the site's layout around the message). Runs on PostgreSQL when
PROCURE_TEST_DATABASE_URL is set (where NUL bytes and integer ranges matter).
"""
from __future__ import annotations

import inspect
import re
import sys
from urllib.parse import quote

import pytest

from tests.test_access_matrix import ROLES, MATRIX_ENTRIES, _build_world, _client_as, _method, _resolve

# Already percent-encoded (they go into the URL as they are).
HOSTILE = {
    "nul": "%00",
    "nul_inside": "12%0034",
    "beyond_int32": "99999999999",
    "beyond_int64": "9999999999999999999999",
    "negative": "-1",
    "percent": "%25",
    "bare_percent": "%",
    "long": "a" * 3000,
    "long_digits": "9" * 400,
    "newline": "%0a%0d",
    "bad_utf8": "%ff%fe%c3",
    "fullwidth_digits": quote("１２"),
    "superscript_digit": quote("²"),
    "dotdot": "..%2f..%2f",
    "markup": quote("<script>x</script>"),
}
# Values that go into a parameter's name too.
HOSTILE_NAMES = ("nul", "bad_utf8", "percent", "newline")


def _roles(entry) -> list[str]:
    """Anonymous, and one signed-in role the route lets in (where the view's
    code, not just the permission check, reads the parameters)."""
    allowed = [role for role in ROLES if role not in ("anonymous", "unconfirmed")
               and entry.expected[role].status == 200]
    return ["anonymous", allowed[-1] if allowed else "officer"]


def _query_names() -> list[str]:
    """Every query parameter name the application reads (``request.args.get("x")``
    in any module of procure), plus ``next``."""
    names = {"next", "page"}
    for name, module in list(sys.modules.items()):
        if not name.startswith("procure.") or module is None:
            continue
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            continue
        names.update(re.findall(r"request\.args\.get\(\s*[\"'](\w+)[\"']", source))
    return sorted(names)


def _get_entries(app):
    return [e for e in MATRIX_ENTRIES if _method(app, e) == "GET"]


def _rule_of(app, endpoint: str) -> str:
    rules = [r for r in app.url_map.iter_rules(endpoint) if "GET" in r.methods]
    return rules[0].rule


def _path_with(app, entry, world, hostile_arg: str | None, value: str) -> str:
    """The route's URL with ``hostile_arg`` replaced by the raw ``value``."""
    path = _rule_of(app, entry.endpoint)
    for name, arg in entry.args.items():
        raw = value if name == hostile_arg else quote(str(_resolve(arg, world)), safe="")
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", lambda _m: raw, path)
    return path


@pytest.fixture(scope="module")
def world(app):
    from procure.extensions import db
    from tests.conftest import _truncate

    with app.app_context():
        with pytest.MonkeyPatch.context() as monkeypatch:
            built = _build_world(app, db.session, monkeypatch)
        db.session.commit()
        yield built
        db.session.rollback()
        _truncate()
        db.session.remove()


def _assert_sane(response, url: str, role: str, problems: list[str]) -> None:
    if response.status_code >= 500:
        problems.append(f"{role:10} {response.status_code} GET {url[:160]}")
    elif response.status_code in (400, 404) and response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        if 'class="navbar' not in html:
            problems.append(f"{role:10} {response.status_code} without the site's layout: GET {url[:160]}")


def test_no_get_route_answers_5xx_to_hostile_values(app, world):
    from procure.extensions import limiter

    names = _query_names()
    assert {"q", "cat", "page", "next"} <= set(names)
    problems: list[str] = []
    requests = 0
    for entry in _get_entries(app):
        urls = []
        valid_path = _path_with(app, entry, world, None, "")
        for kind, value in HOSTILE.items():
            urls.append(valid_path + "?" + "&".join(f"{n}={value}" for n in names))
            if kind in HOSTILE_NAMES:
                urls.append(valid_path + f"?{value}=1")
            for arg in entry.args:
                urls.append(_path_with(app, entry, world, arg, value))
        for role in _roles(entry):
            limiter.reset()
            client, _token = _client_as(app, role, world)
            for url in urls:
                requests += 1
                try:
                    response = client.get(url)
                except Exception as exc:  # TESTING propagates what would be a 500
                    problems.append(f"{role:10} {type(exc).__name__} GET {url[:160]}")
                    continue
                _assert_sane(response, url, role, problems)
    assert requests > 500
    assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(problems[:60])


@pytest.mark.parametrize("url", [
    "/items/99999999999",
    "/catalogs/9999999999999999999999",
    "/organizations/99999999999",
    "/counties/%00",
])
def test_out_of_range_or_nul_in_the_path_is_404_or_400(client, url):
    assert client.get(url).status_code in (400, 404)


def test_nul_byte_in_a_search_is_400_with_the_normal_page(client):
    response = client.get("/organizations?county=%00")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="navbar' in html


def test_invalid_utf8_in_the_query_is_400(client):
    assert client.get("/?q=%ff%fe").status_code == 400


def test_nul_byte_in_a_posted_form_is_400_and_nothing_is_read(client):
    from tests.conftest import csrf_token

    token = csrf_token(client)
    response = client.post("/account/login", data={"email": "a\x00@example.com", "password": "x",
                                                    "csrf_token": token})
    assert response.status_code == 400


def test_error_page_of_a_signed_in_user_survives_a_failed_transaction(app, session, monkeypatch):
    """A view whose flush failed leaves the session needing a rollback; the
    error page (which reads the inbox count of the signed-in user) rolls back
    first and renders with the site's layout."""
    import sqlalchemy as sa
    from flask import abort

    from procure.accounts.models import User
    from procure.extensions import db
    from tests import factories
    from tests.conftest import login

    factories.officer(email="o@example.com")
    client = app.test_client()
    login(client, "o@example.com", factories.PASSWORD)

    def failing_view():
        db.session.add(User(email="o@example.com", password_hash="x"))  # duplicate email
        try:
            db.session.flush()
        except sa.exc.IntegrityError:
            pass  # the session now refuses every query until rolled back
        abort(404)

    monkeypatch.setitem(app.view_functions, "site.home", failing_view)
    response = client.get("/")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'class="navbar' in html and "o@example.com" in html


def test_error_handler_answers_plainly_when_its_template_fails(app, client, monkeypatch):
    import procure.web as web

    def broken(*_args, **_kwargs):
        raise RuntimeError("template broken")

    monkeypatch.setattr(web, "render_template", broken)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
