"""Caching of public pages: server-side (Flask-Caching) and in HTTP (ETag,
Last-Modified, 304, Cache-Control).

Only anonymous GET requests are cached. A page is cached under a key made of what
it shows (``parts``: e.g. the catalog generation, raised by every publication),
the URL with its query string and the language; a new publication changes the
generation, hence the key, so a published change is never served stale by any
process, and a hit runs no database query. Signed-in users, visitors
with a pending flash message or a pending (unconfirmed) login always get a fresh
render and no caching headers from here (private pages are ``no-store``, set
elsewhere).

The per-session CSRF token of the language switch form is kept out of the cached
body (a placeholder, replaced at serve time), and the ETag includes the session's
token seed, so a browser's cached copy always carries its own valid token.

Backends (``CACHE_URL``): Redis in production, files in instance/ for ``make run``
(shared by all gunicorn processes), "null" to turn it off.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from flask import Flask, Response, current_app, g, has_app_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.orm import Session

from procure.extensions import cache

CSRF_PLACEHOLDER = "\x00procure-csrf-token\x00"
KEY_PREFIX = "procure:page:"
# The catalog generation: a number kept in the (shared) cache, raised after every
# commit that publishes or supersedes a catalog version. Keys of catalog pages
# include it, so a cache hit needs no database query at all, and a publication
# is never served stale by any process.
CATALOG_GENERATION = "catalog-generation"
_BUMP = "procure_bump_catalog_generation"


def init_app(app: Flask) -> None:
    url = app.config["CACHE_URL"]
    settings = {"CACHE_DEFAULT_TIMEOUT": app.config["CACHE_PAGE_TIMEOUT"], "CACHE_KEY_PREFIX": KEY_PREFIX}
    if url.startswith(("redis://", "rediss://", "unix://")):
        settings |= {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url}
    elif url == "filesystem":
        settings |= {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": app.config["CACHE_DIR"], "CACHE_THRESHOLD": 20000}
    elif url == "simple":  # per process: tests and single-process use only
        settings |= {"CACHE_TYPE": "SimpleCache"}
    elif url == "null":
        settings |= {"CACHE_TYPE": "NullCache"}
    else:
        raise ValueError(f"PROCURE_CACHE_URL: unsupported value {url!r} (redis://…, filesystem, simple, null)")
    cache.init_app(app, config=settings)
    install_catalog_hooks()

    @app.context_processor
    def _csrf_for_cached_pages():
        # While a cacheable page is rendered, its forms get a placeholder token.
        return {"csrf_token": lambda: CSRF_PLACEHOLDER if g.get("_caching_render") else generate_csrf()}


def _get(key: str):
    """A cache read that never fails the page: an unreachable backend (Redis down)
    is a miss, logged."""
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 - any backend failure is a miss
        current_app.logger.warning("page cache: get failed", exc_info=True)
        return None


def _set(key: str, value, **kw) -> None:
    try:
        cache.set(key, value, **kw)
    except Exception:  # noqa: BLE001 - the page is served uncached
        current_app.logger.warning("page cache: set failed", exc_info=True)


def catalog_generation() -> int:
    """The current catalog generation (nanoseconds since the epoch of the last
    publication seen, or of the first request after the cache lost it)."""
    value = _get(CATALOG_GENERATION)
    if value is None:
        try:
            cache.add(CATALOG_GENERATION, time.time_ns(), timeout=0)
        except Exception:  # noqa: BLE001 - backend down: a fresh number, no hit possible
            current_app.logger.warning("page cache: add failed", exc_info=True)
        value = _get(CATALOG_GENERATION) or time.time_ns()
    return value


def bump_catalog_generation() -> None:
    """Called after a commit that changed what the public sees of catalogs. Every
    process reading the cache afterwards gets new keys. (Read after the commit,
    written as more than what was read: concurrent bumps never go backwards
    past a commit.)"""
    old = _get(CATALOG_GENERATION) or 0
    _set(CATALOG_GENERATION, max(time.time_ns(), old + 1), timeout=0)


def generation_time(generation: int) -> datetime:
    return datetime.fromtimestamp(generation // 1_000_000_000, tz=timezone.utc)


def _mark_catalog_changes(session, flush_context) -> None:
    from procure.catalog.models import Catalog, CatalogStatus

    # after_flush: new/dirty/deleted still show what this flush wrote.
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Catalog) and (obj.status != CatalogStatus.DRAFT or obj in session.deleted):
            session.info[_BUMP] = True
            return


def _bump_after_commit(session) -> None:
    if session.info.pop(_BUMP, False) and has_app_context():
        bump_catalog_generation()


def _forget_after_rollback(session, previous_transaction) -> None:
    session.info.pop(_BUMP, None)


def install_catalog_hooks() -> None:
    """Raise the catalog generation after each commit that published, superseded
    or deleted a public catalog version, whatever did it (view, CLI, worker). Idempotent."""
    if not event.contains(Session, "after_flush", _mark_catalog_changes):
        event.listen(Session, "after_flush", _mark_catalog_changes)
        event.listen(Session, "after_commit", _bump_after_commit)
        event.listen(Session, "after_soft_rollback", _forget_after_rollback)


def clear() -> None:
    """Drop every cached page (tests, and after data changes outside publishing)."""
    cache.clear()


def cacheable_request() -> bool:
    """An anonymous GET with nothing personal to show: the page may be cached."""
    if request.method not in ("GET", "HEAD"):
        return False
    if current_user.is_authenticated or g.get("pending_user") is not None:
        return False
    return not session.get("_flashes")


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:32]


def _http_date(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite returns naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.replace(microsecond=0)


def set_public(response: Response, max_age: int) -> Response:
    """``Cache-Control`` of an anonymous public page. A response that sets a cookie
    (a first visit gets its session) is for that browser only."""
    if session.modified:
        response.headers["Cache-Control"] = f"private, max-age={max_age}"
    else:
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.vary.add("Cookie")
    return response


def public_page(
    render: Callable[[], str],
    *,
    parts: Iterable = (),
    last_modified: datetime | None = None,
    max_age: int | None = None,
) -> Response | str:
    """Serve a public page from the caches, or ``render()`` it.

    ``parts``: what the page shows beyond its URL and language (e.g. the catalog
    publication stamp); ``last_modified``: when that last changed; ``max_age``:
    the Cache-Control max-age (default ``HTTP_MAX_AGE_LIST``).
    """
    if not cacheable_request():
        return render()
    if max_age is None:
        max_age = current_app.config["HTTP_MAX_AGE_LIST"]
    locale = str(get_locale())
    from procure.site.views import large_text  # the page's text size (大字版 cookie) is part of it

    key = _digest(request.endpoint, request.full_path, locale, large_text(), tuple(parts))
    seed = session.get("csrf_token", "")
    etag = _digest(key, seed)
    modified = _http_date(last_modified)

    if request.if_none_match and etag in request.if_none_match:
        response = Response(status=304)
    elif not request.if_none_match and modified is not None and request.if_modified_since is not None \
            and request.if_modified_since >= modified:
        response = Response(status=304)
    else:
        body = _get(key)
        if body is None:
            g._caching_render = True
            try:
                body = render()
            finally:
                g._caching_render = False
            _set(key, body)
        if CSRF_PLACEHOLDER in body:
            body = body.replace(CSRF_PLACEHOLDER, generate_csrf())
        response = Response(body, mimetype="text/html")
    response.set_etag(etag)
    if modified is not None:
        response.last_modified = modified
    return set_public(response, max_age)


def conditional_list(response: Response, max_age: int | None = None) -> Response:
    """A rendered public list that is not kept server-side (it changes with every
    row): for anonymous visitors an ETag of the body, 304 when it matches, and a
    short public max-age; anything else is returned unchanged."""
    if not cacheable_request() or response.status_code != 200:
        return response
    response.add_etag()
    response.make_conditional(request)
    return set_public(response, current_app.config["HTTP_MAX_AGE_LIST"] if max_age is None else max_age)
