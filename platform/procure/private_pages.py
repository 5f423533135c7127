"""Signed-in pages kept server-side: the officers' pages that are read far more
often than what they show changes (catalog management, the review queue).

A view marked ``@private_page()`` (inside ``login_required``) is rendered once
per user, page (URL), language and text size, and kept under the *stamp* of
what it shows: the generations (procure.caching) of the user (account, roles,
login sessions, unread messages: ``user:<id>``), of accounts at large
(``accounts``), of catalogs and drafts (``catalog-edits``), of organizations
and of the working calendar, plus the year. Every commit that changes any of
these raises its generation right after the commit (procure.caching's
``after_commit`` hook), so the next request renders afresh. What the page
shows per browser (the CSRF token of its forms) is a placeholder in the kept
copy, filled in at each answer; a copy that would contain the session's own
token is not kept. Answers stay ``Cache-Control: private, no-store``.

Serving a kept page runs no SQL, so the login session itself is checked
without the database too: each process remembers the login sessions it has
confirmed (the SHA-256 of the cookie's token -> the user, and the user's and
the accounts' generations read *before* the database confirmed the session).
On every request of a kept page the generations are read from the shared
cache (one round trip, with the page's other generations); a session is
trusted only while they are the ones it was confirmed under. Logging out,
changing the password, disabling the account, changing roles all write the
user's rows, hence raise ``user:<id>`` (or ``accounts``), so a revoked session
or a disabled account is refused at its next request, in every process, as
before. A remembered session is also confirmed in the database again at least
every ``SESSION_RECHECK_SECONDS`` (a raise that failed, logged as an error,
cannot keep a revoked session alive longer than that).

Anything else (no remembered session, a generation missing, a pending flash
message, a POST, the cache unreachable) goes the usual way: user loader, view,
database. The first request of a browser in a process confirms its session;
the next ones may be served from the kept pages.
"""
from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request, session
from flask_login import current_user

from procure import caching
from procure.extensions import cache

# The generations every kept page depends on (the site bar shows the unread
# messages, the drafts and the applications waiting; the admin's banner the
# working calendar).
BASE_DEPENDS = ("accounts", "organizations", "catalog-edits", "workdays")
KEY_PREFIX = "private:"
SESSIONS_MAX = 4096  # login sessions remembered per process
PAGES_MAX = 64  # kept pages per process (the shared cache keeps more)
PAGE_TIMEOUT = 600  # seconds a kept page stays in the shared cache
SESSION_RECHECK_SECONDS = 30.0


@dataclass(frozen=True)
class PrivateSpec:
    depends: tuple[str, ...]


@dataclass
class _Session:
    user_id: int
    # (accounts, user) generations read before the database confirmed the
    # session; None: not confirmed that way yet.
    generations: tuple | None
    locale: str | None
    large_text: bool
    confirmed_at: float  # time.monotonic()


@dataclass
class _Lookup:
    token_hash: str
    user_id: int
    names: tuple[str, ...]
    values: tuple | None  # the generations of ``names``, read before the user loader ran


class _Store:
    """This process's remembered login sessions and kept pages (shared by the
    threads of a threaded worker)."""

    def __init__(self) -> None:
        self.sessions = caching.Recent(SESSIONS_MAX)
        self.pages = caching.Recent(PAGES_MAX)

    def clear(self) -> None:
        self.sessions.clear()
        self.pages.clear()

    def remember(self, token_hash: str, copy: _Session) -> None:
        self.sessions.keep(token_hash, copy)

    def keep(self, key: str, body: str) -> None:
        self.pages.keep(key, body)


def _store() -> _Store:
    return current_app.extensions["procure_private_pages"]


def init_app(app: Flask) -> None:
    store = _Store()
    app.extensions["procure_private_pages"] = store
    # A generation that could not be raised: this process forgets everything
    # (the others re-check their sessions within SESSION_RECHECK_SECONDS).
    app.extensions["procure_generation_failed"] = store.clear
    app.before_request(serve_early)


def clear() -> None:
    _store().clear()


def _enabled() -> bool:
    return bool(current_app.config.get("PRIVATE_PAGE_CACHE", True)) and cache.cache is not None \
        and type(cache.cache).__name__ != "NullCache"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_token() -> str | None:
    token = session.get("_user_id")
    return token if isinstance(token, str) and 0 < len(token) <= 128 else None


def _locale(user_locale: str | None) -> str:
    """``web.select_locale`` for a signed-in user: the session's choice, else the account's."""
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    if user_locale in languages:
        return user_locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _names(spec: PrivateSpec, user_id: int) -> tuple[str, ...]:
    return (*BASE_DEPENDS, caching.user_generation_name(user_id), *spec.depends)


def _read(names: Iterable[str]) -> tuple | None:
    try:
        return tuple(cache.get_many(*[caching.generation_key(n) for n in names]))
    except Exception:  # noqa: BLE001 - the cache is unreachable: the usual way
        current_app.logger.warning("private page cache: get failed", exc_info=True)
        return None


def _user_generations(names: tuple[str, ...], values: tuple) -> tuple:
    found = dict(zip(names, values))
    user = next(n for n in names if n.startswith(caching.USER_PREFIX))
    return found["accounts"], found[user]


def _page_key(user_id: int, locale: str, large_text: bool, names: tuple, values: tuple) -> str:
    from procure.catalog.years import this_year

    stamp = (tuple(zip(names, values)), this_year())
    digest = hashlib.sha256(
        repr((request.endpoint, request.full_path, locale, large_text, user_id, stamp)).encode("utf-8")
    ).hexdigest()[:40]
    return KEY_PREFIX + digest


def _session_protection_passes() -> bool:
    """What Flask-Login's session protection does with this session when it
    loads the user: nothing when the browser's identifier (address, user agent)
    is the one the login recorded; else, in "basic" mode (or for a permanent
    session), the session is no longer fresh and goes on (done here too); in
    "strong" mode it is ended (False: the usual way does it)."""
    from flask_login.signals import session_protected

    from procure.extensions import login_manager

    mode = current_app.config.get("SESSION_PROTECTION", login_manager.session_protection)
    if not mode or mode not in ("basic", "strong"):
        return True
    if session.get("_id") == login_manager._session_identifier_generator():
        return True
    if mode == "basic" or session.permanent:
        if session.get("_fresh") is not False:
            session["_fresh"] = False
        session_protected.send(current_app._get_current_object())
        return True
    return False


def serve_early() -> Response | None:
    """``before_request``: a kept page for a remembered, still valid login
    session, before the rate limiter, the user loader and the view; None (go on
    as usual) otherwise. Reads the generations for the view in any case
    (``g._private_lookup``), before the user loader reads the database."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    spec = getattr(view, "private_spec", None)
    if spec is None or request.method not in ("GET", "HEAD") or not _enabled():
        return None
    token = _session_token()
    if token is None:
        return None
    token_hash = _token_hash(token)
    copy = _store().sessions.get(token_hash)
    if copy is None:
        return None  # the database confirms it (``private_page``)
    names = _names(spec, copy.user_id)
    values = _read(names)
    if values is not None and None in values:
        # Not started yet, or lost by the cache: start afresh (a new value), still
        # before the user loader reads the database.
        values = tuple(v if v is not None else caching.generation(n) for n, v in zip(names, values))
    g._private_lookup = _Lookup(token_hash, copy.user_id, names, values)
    if values is None or copy.generations is None or "_flashes" in session:
        return None
    if _user_generations(names, values) != copy.generations:
        return None  # something of the user or of accounts changed: the database decides
    if time.monotonic() - copy.confirmed_at > SESSION_RECHECK_SECONDS or not _session_protection_passes():
        return None
    body = _kept(_page_key(copy.user_id, _locale(copy.locale), copy.large_text, names, values))
    if body is None:
        return None
    g.signed_in = True  # for the response hooks: a private answer (no-store)
    g.user_locale = copy.locale
    return Response(_fill_tokens(body), mimetype="text/html")


def private_page(*, depends: Iterable[str] = ()):
    """Decorator of a signed-in view (inside ``login_required``) whose page is
    kept per user as described above; ``depends``: generations the page shows
    besides ``BASE_DEPENDS``."""
    spec = PrivateSpec(tuple(depends))
    for name in spec.depends:
        caching.generation_key(name)  # a known generation

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            return _serve(spec, lambda: view(*args, **kwargs))

        wrapper.private_spec = spec
        return wrapper

    return decorate


def _serve(spec: PrivateSpec, render: Callable[[], object]):
    lookup = g.pop("_private_lookup", None)
    token = _session_token()
    user = current_user._get_current_object()
    if (
        not _enabled() or token is None or request.method not in ("GET", "HEAD")
        or not getattr(user, "is_authenticated", False) or not g.get("signed_in")
        or getattr(user, "login_token", None) != token
    ):
        return render()
    token_hash = _token_hash(token)
    store = _store()
    locale, large_text = user.locale, bool(user.large_text)
    if lookup is None or lookup.token_hash != token_hash or lookup.user_id != user.id or lookup.values is None:
        # First sight of this session here (or the cache unreachable): remember
        # it unconfirmed; the next request reads its generations first.
        store.remember(token_hash, _Session(user.id, None, locale, large_text, time.monotonic()))
        return render()
    # The generations were read before the user loader confirmed the session
    # in the database: the session is valid under them.
    store.remember(token_hash, _Session(user.id, _user_generations(lookup.names, lookup.values), locale, large_text,
                                        time.monotonic()))
    if "_flashes" in session:  # shown once, on this page only: not kept
        return render()
    key = _page_key(user.id, _locale(locale), large_text, lookup.names, lookup.values)
    body = _kept(key)
    if body is not None:  # kept under these generations (by another request of the user): still true
        return _fill_tokens(body)
    g._caching_render = True
    try:
        result = render()
    finally:
        g._caching_render = False
    if isinstance(result, str) and "_flashes" not in session and not _holds_session_token(result):
        store.keep(key, result)
        caching._set(key, result, timeout=PAGE_TIMEOUT)
    return _fill_tokens(result) if isinstance(result, str) else result


def _kept(key: str) -> str | None:
    """The kept page of ``key``: this process's copy, else the shared cache's."""
    store = _store()
    body = store.pages.get(key)
    if body is None:
        body = caching._get(key)
        if not isinstance(body, str):
            return None
        store.keep(key, body)
    return body


def _fill_tokens(body: str) -> str:
    """The kept page with this session's CSRF token in its forms (the site-wide
    ones included: a signed-in user's session always has a token)."""
    from flask_wtf.csrf import generate_csrf

    token = generate_csrf()
    return body.replace(caching.CSRF_PLACEHOLDER, token).replace(caching.VISITOR_CSRF_PLACEHOLDER, token)


def _holds_session_token(body: str) -> bool:
    """The page has the session's CSRF token in it (a form that did not use the
    placeholder): it must not be kept."""
    from flask_wtf.csrf import generate_csrf

    token = generate_csrf()
    signed = token.split(".", 1)[0]  # the signed seed: the same in every token of the session
    if signed and signed in body:
        current_app.logger.warning("private page cache: %s holds a CSRF token, not kept", request.endpoint)
        return True
    return False
