"""No page scrolls sideways on a phone (390 px), in either language.

Every page of the access matrix (tests/test_access_matrix.py) that a browser can
open (a GET answered 200 with HTML) is loaded in headless Chromium at 390 px,
signed in as a role the matrix lets in (the widest navbars first: officer,
admin, organization admin) and anonymously where the page is public, in
Chinese and in English; ``document.documentElement.scrollWidth`` must not
exceed 390. Wide tables scroll inside their own box (``.table-responsive``).
"""
from __future__ import annotations

import secrets

import pytest

from tests.test_access_matrix import MATRIX_ENTRIES, OK, _build_world, _evaluation_world, _method, _url

pytestmark = [pytest.mark.browser, pytest.mark.once_in_ci]

WIDTH = 390
PHONE = {"viewport": {"width": WIDTH, "height": 844}, "is_mobile": True, "has_touch": True}
SIGNED_IN_ROLES = ("officer", "admin", "org_admin")
NOT_PAGES = {"static", "bootstrap.static", "site.healthz", "catalog.manage_export", "catalog.import_template",
             "organizations.download_document", "tenders.document", "bids.download_file", "bids.receipt",
             "challenges.download", "contracts.contract_file", "contracts.performance_report"}


def _session_cookie(app, token: str | None, locale: str) -> str:
    client = app.test_client()
    with client.session_transaction() as s:
        s["csrf_token"] = secrets.token_hex(20)
        s["locale"] = locale
        if token is not None:
            s["_user_id"] = token
            s["_fresh"] = True
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    return cookie.value


def _visits(app, world):
    """(role, url) pairs: each page as the first signed-in role allowed, and anonymously if public."""
    visits = []
    for entry in MATRIX_ENTRIES:
        if entry.endpoint in NOT_PAGES or _method(app, entry) != "GET":
            continue
        url = _url(app, entry, world)
        roles = [r for r in SIGNED_IN_ROLES if entry.expected[r] == OK][:1]
        if entry.expected["anonymous"] == OK:
            roles.append("anonymous")
        if not roles:  # e.g. pages only other roles open: the first role allowed
            roles = [r for r, outcome in entry.expected.items() if outcome == OK][:1]
        visits += [(role, url) for role in roles]
    return visits


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_no_page_is_wider_than_a_phone(app, session, monkeypatch, new_page, live_server, locale):
    world = _build_world(app, session, monkeypatch)
    world = _evaluation_world(app, session, world)  # the pages after the opening, with data
    session.commit()
    visits = _visits(app, world)
    assert len(visits) > 20
    pages = {}
    too_wide = []
    checked = 0
    for role, url in visits:
        page = pages.get(role)
        if page is None:
            page = pages[role] = new_page(**PHONE)
            token = None if role == "anonymous" else world.tokens[role]
            page.context.add_cookies([{
                "name": app.config.get("SESSION_COOKIE_NAME", "session"),
                "value": _session_cookie(app, token, locale), "url": live_server,
            }])
        response = page.goto(url)
        if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        checked += 1
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > WIDTH:
            culprit = page.evaluate(
                """(w) => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > w + 1)
                    .slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40))""",
                WIDTH,
            )
            too_wide.append(f"{role:10} {url}: {width}px {culprit}")
    assert checked > 20
    assert not too_wide, f"pages wider than {WIDTH}px ({locale}):\n" + "\n".join(too_wide)
