"""WCAG 2.1 AA in the browser: axe-core on every page of the access matrix.

Data-driven from ``tests/test_access_matrix.py``: every entry a browser opens
with a GET is visited as every role that gets 200 for it, in Chinese and in
English, and axe-core (bundled by the ``axe-playwright-python`` package, no
network) runs the WCAG 2.0/2.1 A and AA rules on it: 0 violations. On English
pages, Chinese text must carry lang="zh-CN" (WCAG 3.1.2, which axe does not
check); with 大字版 at 200 % zoom nothing may scroll sideways (WCAG 1.4.4,
1.4.10). A page added
to the matrix is covered here without further work. The forms of
``FAILED_SUBMITS`` are also checked after a failed submit (empty fields), when
the error summary and the field errors are on the page.

One browser, one context per (role, language), signed in by a session cookie
made with the app's own serializer (no login form, no password hashing).

Speed: most pages differ between roles only in the site bar, and the site bar
only between roles. Each visited page is split into its ``<main>`` and the rest
(hidden inputs' values, e.g. CSRF tokens, left out); the checks run on the
page unless both parts were already checked, in that language, on a page that
passed (identical markup, identical results). Every (page, role, language) is
still opened and fingerprinted, so a difference anywhere is checked.

While working on some templates, ``PROCURE_A11Y_ENDPOINTS=bids.,tenders.notice``
(endpoints, or blueprint prefixes ending in ".") limits the matrix pages to
those; ``-k "test_every_page_passes_axe and en"`` picks a language.
"""
from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError

from tests.fixtures.browser import DEFAULT_TIMEOUT_MS
from tests.test_access_matrix import MATRIX, OK, ROLES, _build_world, _evaluation_world, _method, _url

pytestmark = [pytest.mark.browser, pytest.mark.once_in_ci]

LANGUAGES = ("zh", "en")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}

# Matrix endpoints that answer with something other than an HTML page.
NOT_HTML = {
    "static",
    "bootstrap.static",
    "site.healthz",
    "catalog.manage_export",  # an XLSX download
    "catalog.import_template",  # an XLSX download
    "bids.download_file",  # files of bids, challenges, contracts
    "challenges.download",
    "contracts.contract_file",
    "organizations.download_document",  # a file download
}

# Pages whose form is submitted empty (as the given role) and checked again:
# matrix key -> (role, CSS selector of the form in <main>).
FAILED_SUBMITS = {
    "accounts.login": ("anonymous", "main form"),
    "accounts.reset_request": ("anonymous", "main form"),
    "accounts.reset_password": ("anonymous", "main form"),
    "accounts.change_password": ("officer", "main form"),
    "organizations.register": ("anonymous", "main form"),
    "organizations.accept_invitation": ("anonymous", "main form"),
    "organizations.edit": ("org_admin", "main form"),
    "organizations.members": ("org_admin", "main form:has([name=email])"),
    "organizations.mine": ("org_admin", "main form:has([type=file])"),
    "catalog.manage_add_item": ("officer", "main form"),
    "catalog.manage_edit_item": ("officer", "main form:has([name=name])"),
    "catalog.manage_import": ("officer", "main form:has([type=file])"),
    "tenders.manage_new": ("officer", "main form"),
    "workdays.index": ("admin", "main form"),
    "challenges.new": ("org_member", "main form"),
    "contracts.record_performance": ("officer", "main form"),
}

_AXE = Axe()

# Fingerprints of markup axe has checked, per language (module-wide: a test
# run alone checks everything it sees; run together, each part is checked once).
_CHECKED: dict[str, set[str]] = {language: set() for language in LANGUAGES}

_PARTS_JS = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('input[type=hidden]').forEach(i => i.removeAttribute('value'));
  const main = body.querySelector('main');
  const mainHtml = main ? main.outerHTML : '';
  if (main) main.replaceWith(document.createElement('main'));
  return [document.documentElement.className + body.outerHTML, document.title + mainHtml];
}"""


def unchecked(page, language: str) -> list[str]:
    """The fingerprints of the page's parts not checked yet in ``language``."""
    raw = page.evaluate(_PARTS_JS)
    parts = [hashlib.sha256(part.encode()).hexdigest() for part in raw]
    return [part for part in parts if part not in _CHECKED[language]]


def html_pages(app) -> list[str]:
    """Matrix keys of the pages a browser opens (GET, HTML)."""
    return sorted(key for key, entry in MATRIX.items() if entry.endpoint not in NOT_HTML and _method(app, entry) == "GET")


@pytest.fixture(scope="module")
def world(app, live_server):
    """One world for the whole module (the pages visited change nothing that
    another visit depends on); the cyclic GC stays off while pages are open
    (see tests/fixtures/browser.py)."""
    from procure.extensions import db
    from tests.conftest import _truncate

    gc_was_enabled = gc.isenabled()
    gc.disable()
    with app.app_context():
        with pytest.MonkeyPatch.context() as monkeypatch:
            world = _build_world(app, db.session, monkeypatch)
            world = _evaluation_world(app, db.session, world)
        db.session.commit()
        try:
            yield world
        finally:
            db.session.rollback()
            _truncate()
            db.session.remove()
            if gc_was_enabled:
                gc.enable()
            gc.collect()


def open_context(browser, app, live_server, world, role: str, language: str):
    """A browser context signed in as ``role`` (none for anonymous) with the
    UI language ``language``, through the session cookie."""
    data = {"locale": language}
    if role != "anonymous":
        data.update(_user_id=world.tokens[role], _fresh=True)
    cookie = app.session_interface.get_signing_serializer(app).dumps(data)
    context = browser.new_context(base_url=live_server, locale="zh-CN", viewport=DESKTOP)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": live_server}])
    return context


def axe_violations(page) -> list[str]:
    """One line per violated rule: id, impact, node count, first targets.
    With ``PROCURE_AXE_LOG`` set, each checked page is appended to that file
    (one JSON line: url, rule ids, node counts), to count pages and violations."""
    results = _AXE.run(page, options=AXE_OPTIONS)
    if os.environ.get("PROCURE_AXE_LOG"):
        with open(os.environ["PROCURE_AXE_LOG"], "a", encoding="utf-8") as log:
            counts = {v["id"]: len(v["nodes"]) for v in results.response["violations"]}
            log.write(json.dumps({"url": page.url, "violations": counts}) + "\n")
    lines = []
    for v in results.response["violations"]:
        targets = "; ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                            for n in v["nodes"][:3])
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {targets}")
    return lines


_EMPTY_FORM_JS = """f => {
  f.noValidate = true;
  for (let d = f.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) d.open = true;
  const text = 'input:not([type]), input[type=text], input[type=email], input[type=password], input[type=tel], '
             + 'input[type=number], input[type=date], textarea';
  f.querySelectorAll(text).forEach(i => { i.value = ''; });
}"""


# Text in Chinese (CJK ideographs) whose nearest lang attribute is not Chinese:
# on an English page, data shown in Chinese must be marked lang="zh-CN" (WCAG 3.1.2).
_UNMARKED_CHINESE_JS = """() => {
  const cjk = /[\\u3400-\\u9fff\\uf900-\\ufaff]/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!cjk.test(node.data)) continue;
    const owner = node.parentElement.closest('[lang]');
    if (!owner || !owner.lang.toLowerCase().startsWith('zh')) found.push(node.data.trim().slice(0, 40));
  }
  return found;
}"""


ZOOMED = {"width": 640, "height": 450}  # the desktop viewport at 200 % zoom
NARROW = {"width": 320, "height": 450}  # WCAG 1.4.10's 320 CSS px (1280 px at 400 %)
DESKTOP = {"width": 1280, "height": 900}

_OVERFLOW_JS = """() => {
  const root = document.documentElement;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1 && !e.closest('.table-responsive'))
    .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).split(' ').join('.') : ''));
  return {scroll: root.scrollWidth, width: root.clientWidth, fontSize: getComputedStyle(root).fontSize, wide};
}"""


def reflow_problems(page, viewport: dict = ZOOMED) -> list[str]:
    """大字版 at 200 % zoom (half the width): the page reflows, nothing makes it
    scroll sideways (WCAG 1.4.4 and 1.4.10); ``NARROW`` checks 320 CSS px (400 %
    zoom) instead. Restores the desktop view."""
    large = page.evaluate("() => document.documentElement.classList.contains('text-large')")
    page.evaluate("() => document.documentElement.classList.add('text-large')")
    page.set_viewport_size(viewport)
    try:
        state = page.evaluate(_OVERFLOW_JS)
    finally:
        page.set_viewport_size(DESKTOP)
        if not large:
            page.evaluate("() => document.documentElement.classList.remove('text-large')")
    problems = []
    if state["fontSize"] != "20px":
        problems.append(f"大字版 root font size {state['fontSize']}, expected 20px")
    if state["scroll"] > state["width"] + 1:
        problems.append(f"scrolls sideways at {viewport['width']} px with 大字版: "
                        f"{state['scroll']} > {state['width']} px {state['wide']}")
    return problems


def _pages_for(app, role: str) -> list[str]:
    """The pages ``role`` opens; ``PROCURE_A11Y_ENDPOINTS`` (comma-separated
    endpoints or endpoint prefixes such as ``bids.``) narrows them down while
    working on some templates (the whole module takes minutes)."""
    only = [name.strip() for name in os.environ.get("PROCURE_A11Y_ENDPOINTS", "").split(",") if name.strip()]

    def wanted(endpoint: str) -> bool:
        return not only or any(endpoint == name or (name.endswith(".") and endpoint.startswith(name)) for name in only)

    return [key for key in html_pages(app) if MATRIX[key].expected[role] == OK and wanted(MATRIX[key].endpoint)]


@pytest.mark.parametrize(("role", "language"), list(itertools.product(ROLES, LANGUAGES)))
def test_every_page_passes_axe(app, browser, live_server, world, role, language):
    context = open_context(browser, app, live_server, world, role, language)
    page = context.new_page()
    problems = []
    try:
        for key in _pages_for(app, role):
            url = _url(app, MATRIX[key], world)
            try:
                response = page.goto(url)
            except PlaywrightError as exc:
                if "Download is starting" in str(exc):
                    continue  # a file, not a page (list it in NOT_HTML to skip the attempt)
                raise
            assert response.status == 200, f"{role} {url}: {response.status}"
            assert response.headers["content-type"].startswith("text/html"), (
                f"{key} is not an HTML page: add it to NOT_HTML"
            )
            assert page.locator("html").get_attribute("lang") == ("zh-CN" if language == "zh" else "en")
            new_parts = unchecked(page, language)
            if not new_parts:
                continue  # identical markup was checked (and passed) already
            found = axe_violations(page)
            if language != "zh":
                unmarked = page.evaluate(_UNMARKED_CHINESE_JS)
                if unmarked:
                    found.append(f"Chinese text without lang=zh-CN: {unmarked[:8]}")
            found.extend(reflow_problems(page))
            problems.extend(f"{url}: {line}" for line in found)
            if not found:
                _CHECKED[language].update(new_parts)
    finally:
        context.close()
    assert not problems, f"{len(problems)} problems as {role} ({language}):\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", sorted(FAILED_SUBMITS))
def test_form_errors_pass_axe(app, browser, live_server, world, key, language):
    role, selector = FAILED_SUBMITS[key]
    entry = MATRIX[key]
    assert _method(app, entry) == "GET" and entry.expected[role] == OK
    context = open_context(browser, app, live_server, world, role, language)
    page = context.new_page()
    try:
        url = _url(app, entry, world)
        page.goto(url)
        form = page.locator(selector).first
        # Empty fields, submitted without the browser's own checks: the server answers.
        form.evaluate(_EMPTY_FORM_JS)
        with page.expect_navigation():
            form.locator("[type=submit]").first.click()
        assert page.locator(".invalid-feedback, .alert-danger").count() > 0, f"{key}: no error shown"
        problems = axe_violations(page)
    finally:
        context.close()
    assert not problems, f"axe after a failed submit on {url} ({language}):\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_bid_page_reflows_in_every_state(app, browser, live_server, world, language):
    """The bid editor (the widest form of the site) as the matrix shows it, after
    a refused submit (error summary, field errors) and after a submit (the
    receipt's SHA-256 digest in the flash message): no sideways scrolling with
    大字版 at 640 px (200 %) nor at 320 px (400 %), Chinese data marked on the
    English page, axe-clean after the submit. Runs after the matrix pages:
    it submits the world's bid again."""
    context = open_context(browser, app, live_server, world, "org_admin", language)
    page = context.new_page()
    problems = []
    try:
        url = _url(app, MATRIX["bids.edit"], world)
        page.goto(url)
        states = {"as shown": None, "refused": "not a price", "submitted": "1000"}
        for state, price in states.items():
            if price is not None:
                page.goto(url)
                page.fill("[data-testid=bid-form] [name=price]", price)
                with page.expect_navigation():
                    page.locator("[data-testid=bid-form] [name=submit]").click()
                shown = page.locator(".invalid-feedback" if state == "refused" else ".alert-success")
                assert shown.count() > 0, f"{state}: no message on the page"
            for viewport in (ZOOMED, NARROW):
                problems.extend(f"{state}: {line}" for line in reflow_problems(page, viewport))
            if language != "zh" and (unmarked := page.evaluate(_UNMARKED_CHINESE_JS)):
                problems.append(f"{state}: Chinese text without lang=zh-CN: {unmarked[:8]}")
        problems.extend(axe_violations(page))
    finally:
        context.close()
    assert not problems, f"{url} ({language}):\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_error_pages_pass_axe(app, browser, live_server, world, language):
    """The error page (not in the matrix as a page of its own): 404 and 403."""
    context = open_context(browser, app, live_server, world, "org_member", language)
    page = context.new_page()
    problems = []
    try:
        for path, status in (("/no/such/page", 404), ("/account/users", 403)):
            assert page.goto(path).status == status
            problems.extend(f"{path}: {line}" for line in axe_violations(page))
    finally:
        context.close()
    assert not problems, "\n".join(problems)


# --- the checks themselves see what they look for ------------------------------

_PROBE = """<!doctype html><html lang="en"><head><style>html.text-large { font-size: 125%; }</style></head>
<body><main><p>Catalog of <span lang="zh-CN">沂南县</span></p>EXTRA</main></body></html>"""


def test_reflow_check_sees_sideways_scrolling(browser):
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.set_content(_PROBE.replace("EXTRA", ""))
        assert reflow_problems(page) == []
        page.set_content(_PROBE.replace("EXTRA", '<div style="width: 900px">wide</div>'))
        [problem] = reflow_problems(page)
        assert "scrolls sideways" in problem and "div" in problem
    finally:
        context.close()


def test_lang_check_sees_unmarked_chinese(browser):
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.set_content(_PROBE.replace("EXTRA", ""))
        assert page.evaluate(_UNMARKED_CHINESE_JS) == []
        page.set_content(_PROBE.replace("EXTRA", "<p>County: 临沂市</p>"))
        assert page.evaluate(_UNMARKED_CHINESE_JS) == ["County: 临沂市"]
    finally:
        context.close()
