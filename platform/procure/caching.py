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

Cached views are marked with ``@cached_page(depends=...)``: their entries are kept
under a key made of the URL, the language and the text size only, and each entry
carries the *stamp* it was rendered under (the generations of what it shows:
catalogs, tenders, organizations; the year; the minute for pages with
countdowns). A generation is a number in the shared cache, raised after every
commit that changed what the public sees of it; an entry whose stamp differs
from the current one is a miss. So a hit needs one cache round trip (the entry
and the generations in one ``MGET``) and no database query, and is served by a
``before_request`` hook (``serve_early``) before the rate limiter, the user
loader and the view: an anonymous visitor (no login in the session, no
remember-me cookie, no pending flash message) costs little more than Flask's
"hello".

Anonymous visitors get no session, hence no cookie, from reading public pages:
the site-wide forms they see (language, text size) carry the session's CSRF
token only when there is one (``visitor_csrf_token``); those two forms are
accepted from a visitor without a token when the browser says the request
comes from this site (``protect_visitor_preference``).

Backends (``CACHE_URL``): Redis in production, files in instance/ for ``make run``
(shared by all gunicorn processes), "null" to turn it off.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, has_app_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy import event
from sqlalchemy.orm import Session

from procure import timeutil
from procure.extensions import cache

CSRF_PLACEHOLDER = "\x00procure-csrf-token\x00"
# The token of the site-wide visitor forms (language, text size): the session's
# own when it has one, else empty (no session is created for it).
VISITOR_CSRF_PLACEHOLDER = "\x00procure-visitor-csrf-token\x00"
KEY_PREFIX = "procure:page:"
# The catalog generation: a number kept in the (shared) cache, raised after every
# commit that publishes or supersedes a catalog version. Keys of catalog pages
# include it, so a cache hit needs no database query at all, and a publication
# is never served stale by any process.
CATALOG_GENERATION = "catalog-generation"
# Every generation: what public pages may depend on, and its key in the cache.
GENERATIONS = {
    "catalogs": CATALOG_GENERATION,
    "tenders": "tender-generation",
    "organizations": "organization-generation",
    # What the signed-in pages kept by procure.private_pages show besides those:
    # any change of a catalog version (drafts included), its categories or items;
    # of the working calendar; of accounts when the change cannot be tied to one
    # user (bulk statements, divisions).
    "catalog-edits": "catalog-edit-generation",
    "workdays": "workday-generation",
    "accounts": "account-generation",
}
# The generations public pages depend on: announced on CHANNEL when raised.
PUBLIC_GENERATIONS = frozenset({"catalogs", "tenders", "organizations"})
# "user:<id>": one user's account, roles, login sessions and unread messages.
USER_PREFIX = "user:"
USER_GENERATION_TIMEOUT = 30 * 24 * 3600  # a lost one is started afresh (a miss)
_BUMP = "procure_bump_generations"
# Redis channel on which every raised generation is announced (procure.caching._Local).
CHANNEL = "procure:page-generations"
LOCAL_PAGES_MAX = 256  # pages kept in each process's memory (Redis backend)
# Copied generations are read again from Redis at least this often, whatever the
# subscription says (a connection that died without a word cannot keep a stale
# copy longer than this).
LOCAL_TRUST_SECONDS = 2.0

log = logging.getLogger(__name__)


class _Local:
    """Per-process copies of the generations and of recently served pages, on the
    Redis backend, trusted only while this process is subscribed to ``CHANNEL``:
    every raise of a generation is announced there (``bump_generation``), and
    each request first reads the announcements already received (a non-blocking
    look at the subscription's socket, no round trip), forgetting the copied
    generations on any. A hit then costs no round trip at all; a page published
    by another process is seen as soon as its announcement has arrived (Redis
    writes it to the subscribers before the publishing request returns). Any
    trouble with the subscription: the copies are dropped and every request asks
    Redis again, as without them."""

    def __init__(self, client, max_pages: int = LOCAL_PAGES_MAX):
        self.client = client
        self.pid: int | None = None
        self.pubsub = None
        self.generations: dict[str, int] = {}
        self.checked_at = 0.0  # time.monotonic() of the last read of the generations
        self.pages = Recent(max_pages)

    def drop(self) -> None:
        self.generations.clear()
        self.pages.clear()
        pubsub, self.pubsub = self.pubsub, None
        if pubsub is not None and self.pid == os.getpid():
            try:
                pubsub.close()
            except Exception:  # noqa: BLE001
                pass

    def _subscribe(self) -> bool:
        self.generations.clear()
        self.pages.clear()
        self.pubsub = None  # a copy inherited through fork() is not this process's
        try:
            pubsub = self.client.pubsub()
            pubsub.subscribe(CHANNEL)
            confirmed = pubsub.get_message(timeout=1.0)
            if not confirmed or confirmed.get("type") != "subscribe":
                pubsub.close()
                return False
        except Exception:  # noqa: BLE001 - no copies, as without them
            log.warning("page cache: subscription to %s failed", CHANNEL, exc_info=True)
            return False
        self.pubsub, self.pid = pubsub, os.getpid()
        return True

    def fresh(self) -> bool:
        """Read the announcements received; False when the copies cannot be trusted."""
        if (self.pubsub is None or self.pid != os.getpid()) and not self._subscribe():
            return False
        try:
            while True:
                message = self.pubsub.get_message(timeout=0.0)
                if message is None:
                    return True
                if message.get("type") == "message":
                    self.generations.clear()
        except Exception:  # noqa: BLE001 - connection lost: ask Redis until resubscribed
            log.warning("page cache: subscription lost", exc_info=True)
            self.drop()
            return False



class Recent:
    """A bounded map of the most recently kept entries (least recently kept
    dropped first), safe for the threads of a threaded worker: the per-process
    copies of pages (here and in procure.private_pages) and of login sessions."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        return self._entries.get(key)

    def keep(self, key, value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _local() -> _Local | None:
    return current_app.extensions.get("procure_local_pages")


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
    app.extensions.pop("procure_local_pages", None)
    app.extensions.pop("procure_file_page_copies", None)
    if settings["CACHE_TYPE"] == "FileSystemCache" and app.config.get("CACHE_LOCAL_PAGES", True):
        # (Inherited through fork(), a copy is still only used under its own stamp.)
        app.extensions["procure_file_page_copies"] = Recent(LOCAL_PAGES_MAX)
    if settings["CACHE_TYPE"] == "RedisCache" and app.config.get("CACHE_LOCAL_PAGES", True):
        client = getattr(app.extensions["cache"][cache], "_write_client", None)
        if client is not None and hasattr(client, "pubsub"):
            app.extensions["procure_local_pages"] = _Local(client)
    install_catalog_hooks()

    @app.context_processor
    def _csrf_for_cached_pages():
        # While a cacheable page is rendered, its forms get a placeholder token.
        return {
            "csrf_token": lambda: CSRF_PLACEHOLDER if g.get("_caching_render") else generate_csrf(),
            "visitor_csrf_token": visitor_csrf_token,
        }

    # ``serve_early`` is registered by web.init_app, right after the hostile-input
    # check and before the limiter and the login manager: hits are served before
    # their hooks.


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


def user_generation_name(user_id: int) -> str:
    return f"{USER_PREFIX}{int(user_id)}"


def generation_key(name: str) -> str:
    """The cache key of the generation ``name`` (``GENERATIONS`` or ``user:<id>``)."""
    key = GENERATIONS.get(name)
    if key is not None:
        return key
    if name.startswith(USER_PREFIX) and name[len(USER_PREFIX):].isdigit():
        return f"user-generation:{name[len(USER_PREFIX):]}"
    raise ValueError(f"unknown generation {name!r}")


def _generation_timeout(name: str) -> int:
    return USER_GENERATION_TIMEOUT if name.startswith(USER_PREFIX) else 0


def generation(name: str) -> int:
    """The current generation of ``name`` (nanoseconds since the epoch of the last
    change seen, or of the first request after the cache lost it)."""
    key = generation_key(name)
    value = _get(key)
    if value is None:
        try:
            cache.add(key, time.time_ns(), timeout=_generation_timeout(name))
        except Exception:  # noqa: BLE001 - backend down: a fresh number, no hit possible
            current_app.logger.warning("page cache: add failed", exc_info=True)
        value = _get(key) or time.time_ns()
    return value


def catalog_generation() -> int:
    return generation("catalogs")


def bump_generation(name: str) -> None:
    """Called after a commit that changed what the public sees of ``name``. Every
    process reading the cache afterwards gets new stamps. (Read after the commit,
    written as more than what was read: concurrent bumps never go backwards
    past a commit.)"""
    key = generation_key(name)
    old = _get(key) or 0
    failure = None
    try:
        raised = cache.set(key, max(time.time_ns(), old + 1), timeout=_generation_timeout(name))
    except Exception as error:  # noqa: BLE001 - said below
        raised, failure = False, error
    if raised is False:
        # Pages (and signed-in sessions, procure.private_pages) may be served as
        # before the change until it is raised again: say so loudly.
        current_app.logger.error("page cache: raising the %s generation failed", name, exc_info=failure)
        failed = current_app.extensions.get("procure_generation_failed")
        if failed is not None:
            failed()
    local = _local()
    if local is not None and name in PUBLIC_GENERATIONS:
        local.generations.clear()
        try:
            local.client.publish(CHANNEL, name)
        except Exception:  # noqa: BLE001 - the other processes' copies may lag: say so
            current_app.logger.error("page cache: announcing the new %s generation failed", name, exc_info=True)


def bump_catalog_generation() -> None:
    bump_generation("catalogs")


def generation_time(generation: int) -> datetime:
    return datetime.fromtimestamp(generation // 1_000_000_000, tz=timezone.utc)


def _changed_generations(obj, deleted: bool) -> set[str]:
    """The generations a flushed object belongs to: what the public sees of it,
    and what signed-in pages show (procure.private_pages)."""
    from procure.accounts.models import LoginSession, RoleAssignment, User
    from procure.catalog.models import Catalog, CatalogStatus, Category, Item
    from procure.geo.models import Division
    from procure.notifications.models import Notification
    from procure.organizations.models import Organization
    from procure.tenders.models import Tender, TenderStatus
    from procure.workdays.models import CalendarDay, CalendarYear

    if isinstance(obj, Catalog):
        return {"catalog-edits", "catalogs"} if deleted or obj.status != CatalogStatus.DRAFT else {"catalog-edits"}
    if isinstance(obj, (Category, Item)):
        return {"catalog-edits"}
    if isinstance(obj, Tender):
        return {"tenders"} if deleted or obj.status != TenderStatus.DRAFT else set()
    if isinstance(obj, Organization):
        return {"organizations"}
    if isinstance(obj, (CalendarYear, CalendarDay)):
        return {"workdays"}
    if isinstance(obj, Division):
        return {"accounts"}
    user_id = None
    if isinstance(obj, User):
        user_id = obj.id
    elif isinstance(obj, (LoginSession, RoleAssignment)):
        user_id = obj.user_id
    elif isinstance(obj, Notification):
        if obj.recipient_user_id is None:
            return set()
        user_id = obj.recipient_user_id
    else:
        return set()
    return {user_generation_name(user_id)} if user_id is not None else {"accounts"}


def _shows_nothing_new(obj) -> bool:
    """A changed notification whose unread state stayed (email delivery marks):
    no signed-in page shows the change."""
    from sqlalchemy import inspect

    from procure.notifications.models import Notification

    if not isinstance(obj, Notification):
        return False
    attrs = inspect(obj).attrs
    return not any(attrs[name].history.has_changes() for name in _NOTIFICATION_SHOWN)


def _mark_changes(session, flush_context) -> None:
    # after_flush: new/dirty/deleted (and attribute histories) still show what this flush wrote.
    names = session.info.setdefault(_BUMP, set())
    for obj in session.new:
        names |= _changed_generations(obj, False)
    for obj in session.dirty:
        if not _shows_nothing_new(obj):
            names |= _changed_generations(obj, False)
    for obj in session.deleted:
        names |= _changed_generations(obj, True)


# Notification columns whose change a signed-in page shows (the unread count of
# the site bar): a bulk update of others (email delivery) raises nothing.
_NOTIFICATION_SHOWN = frozenset({"read_at", "recipient_user_id"})


def _equal_values(where, column) -> set | None:
    """The values ``column`` is required to equal by ``where`` (a top-level
    ``AND`` of conditions, ``column == value`` or ``column IN (...)``), or None
    when ``where`` does not restrict it so."""
    from sqlalchemy.sql import operators
    from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

    if where is None:
        return None
    conditions = list(where.clauses) if isinstance(where, BooleanClauseList) and where.operator is operators.and_ \
        else [where]
    for condition in conditions:
        if not isinstance(condition, BinaryExpression) or not condition.left.compare(column):
            continue
        right = condition.right
        if not isinstance(right, BindParameter):
            continue
        value = right.effective_value
        if condition.operator is operators.eq and value is not None:
            return {value}
        if condition.operator is operators.in_op and isinstance(value, (list, tuple, set)):
            return set(value)
    return None


def _statement_user_ids(state, column) -> set | None:
    """The users whose rows a bulk statement writes, when it says (None: unknown)."""
    statement = state.statement
    if state.is_insert:
        rows = state.parameters
        if rows is None or rows == {}:
            values = getattr(statement, "_values", None) or {}
            rows = [{getattr(k, "key", k): getattr(v, "effective_value", v) for k, v in values.items()}]
        elif isinstance(rows, dict):
            rows = [rows]
        found = set()
        for row in rows:
            if not isinstance(row, dict) or column.key not in row:
                return None
            if row[column.key] is not None:  # a row of no user (an email to an address) shows nowhere
                found.add(row[column.key])
        return found
    return _equal_values(statement.whereclause, column)


def _mark_bulk_changes(state) -> None:
    """``insert(...)`` / ``update(...)`` / ``delete(...)`` statements run through the session."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    from procure.accounts.models import LoginSession, RoleAssignment, User
    from procure.catalog.models import Catalog, Category, Item
    from procure.geo.models import Division
    from procure.notifications.models import Notification
    from procure.organizations.models import Organization
    from procure.tenders.models import Tender
    from procure.workdays.models import CalendarDay, CalendarYear

    classes = {
        Catalog: ("catalogs", "catalog-edits"), Category: ("catalog-edits",), Item: ("catalog-edits",),
        Tender: ("tenders",), Organization: ("organizations",), CalendarYear: ("workdays",),
        CalendarDay: ("workdays",), Division: ("accounts",),
    }
    user_columns = {User: User.__table__.c.id, LoginSession: LoginSession.__table__.c.user_id,
                    RoleAssignment: RoleAssignment.__table__.c.user_id,
                    Notification: Notification.__table__.c.recipient_user_id}
    names = state.session.info.setdefault(_BUMP, set())
    written = [mapper.class_ for mapper in state.all_mappers]
    if not written:
        # A statement on the table itself (``insert(Notification.__table__)``,
        # as notifications.notify_users writes): no mapper, the same rows.
        table = getattr(state.statement, "table", None)
        written = [cls for cls in (*classes, *user_columns) if cls.__table__ is table]
    for class_ in written:
        names.update(classes.get(class_, ()))
        column = user_columns.get(class_)
        if column is None:
            continue
        if class_ is Notification and state.is_update:
            written = getattr(state.statement, "_values", None)
            if written is not None and not {getattr(k, "key", k) for k in written} & _NOTIFICATION_SHOWN:
                continue
        user_ids = _statement_user_ids(state, column)
        if user_ids is None:
            names.add("accounts")
        else:
            names.update(user_generation_name(u) for u in user_ids)


def _bump_after_commit(session) -> None:
    names = session.info.pop(_BUMP, None)
    if names and has_app_context():
        for name in sorted(names):
            bump_generation(name)


def _forget_after_rollback(session, previous_transaction) -> None:
    session.info.pop(_BUMP, None)


def install_catalog_hooks() -> None:
    """Raise a generation after each commit that changed what the public sees of
    catalogs (published, superseded, deleted versions), tenders (anything but
    drafts) or organizations, whatever did it (view, CLI, worker). Idempotent."""
    if not event.contains(Session, "after_flush", _mark_changes):
        event.listen(Session, "after_flush", _mark_changes)
        event.listen(Session, "do_orm_execute", _mark_bulk_changes)
        event.listen(Session, "after_commit", _bump_after_commit)
        event.listen(Session, "after_soft_rollback", _forget_after_rollback)


def clear() -> None:
    """Drop every cached page (tests, and after data changes outside publishing)."""
    cache.clear()
    local = _local()
    if local is not None:
        local.drop()
    private = current_app.extensions.get("procure_private_pages")
    if private is not None:
        private.clear()


def cacheable_request() -> bool:
    """An anonymous GET with nothing personal to show: the page may be cached."""
    if request.method not in ("GET", "HEAD"):
        return False
    if current_user.is_authenticated or g.get("pending_user") is not None:
        return False
    return not session.get("_flashes")


def _plainly_anonymous() -> bool:
    """What ``cacheable_request`` finds, read from the cookies alone (no user
    loader, no database): no login in the session, no remember-me cookie, no
    pending flash message."""
    if request.method not in ("GET", "HEAD"):
        return False
    if "_user_id" in session or "_flashes" in session:
        return False
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") not in request.cookies


def visitor_locale() -> str:
    """The language of an anonymous visitor's page (``web.select_locale`` for a
    visitor: the session's choice, else the default)."""
    chosen = session.get("locale")
    config = current_app.config
    return chosen if chosen in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


def _visitor_large_text() -> bool:
    """``site.views.large_text`` for a visitor: the 大字版 cookie."""
    return request.cookies.get(current_app.config["TEXT_SIZE_COOKIE"]) == "large"


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
    is for that browser only. ``max_age`` 0 (lists that change, the default): the
    browser and any proxy revalidate at every view (a cheap 304 by the ETag), so
    nobody sees a page older than the last publication."""
    scope = "private" if session.modified else "public"
    freshness = f"max-age={max_age}" if max_age > 0 else "max-age=0, must-revalidate"
    response.headers["Cache-Control"] = f"{scope}, {freshness}"
    response.vary.add("Cookie")
    return response


@dataclass(frozen=True)
class PageSpec:
    """What a cached public page depends on (``GENERATIONS`` names), the config
    setting of its max-age, whether its content moves with the minute (countdowns),
    and the generation whose time is its ``Last-Modified``."""

    depends: tuple[str, ...]
    max_age: str = "HTTP_MAX_AGE_LIST"
    per_minute: bool = False
    last_modified: str | None = None


@dataclass
class _Lookup:
    key: str
    stamp: tuple | None  # None: a generation is missing from the cache (a miss)
    generations: dict
    entry: tuple | None  # (stamp, body, last modified) as stored


def _lookup(spec: PageSpec, *, create: bool) -> _Lookup:
    """The entry of this request's page and the current stamp: from this process's
    copies when they can be trusted (``_Local``), else in one round trip.
    ``create``: start a generation missing from the cache (the rendering path)."""
    from procure.catalog.years import this_year

    key = _digest(request.endpoint, request.full_path, visitor_locale(), _visitor_large_text())
    names = spec.depends
    cache_keys = [GENERATIONS[n] for n in names]
    minute = timeutil.utcnow().strftime("%Y%m%d%H%M") if spec.per_minute else None  # the app's clock
    local = _local()
    trusted = local is not None and local.fresh()
    if trusted and time.monotonic() - local.checked_at < LOCAL_TRUST_SECONDS:
        known = [local.generations.get(k) for k in cache_keys]
        entry = local.pages.get(key)
        if entry is not None and None not in known:
            stamp = (tuple(known), this_year(), minute)
            if entry[0] == stamp:
                return _Lookup(key, stamp, dict(zip(names, known)), entry)
    copies = current_app.extensions.get("procure_file_page_copies")
    if copies is not None:
        found_copy = _lookup_copy(copies, key, names, cache_keys, minute)
        if found_copy is not None:
            return found_copy
    try:
        values = cache.get_many(key, *cache_keys)
    except Exception:  # noqa: BLE001 - any backend failure is a miss
        current_app.logger.warning("page cache: get failed", exc_info=True)
        values = [None] * (1 + len(names))
    entry, found = values[0], dict(zip(names, values[1:]))
    if trusted:  # read after the subscription: a later raise is announced
        local.generations.update({k: v for k, v in zip(cache_keys, values[1:]) if v is not None})
        local.checked_at = time.monotonic()
    if any(v is None for v in found.values()):
        if not create:
            return _Lookup(key, None, found, None)
        found = {n: v if v is not None else generation(n) for n, v in found.items()}
        if trusted:
            local.generations.update({GENERATIONS[n]: v for n, v in found.items()})
    stamp = (tuple(found[n] for n in names), this_year(), minute)
    if trusted and entry is not None and entry[0] == stamp:
        local.pages.keep(key, entry)
    return _Lookup(key, stamp, found, entry)


def _lookup_copy(copies: Recent, key: str, names, cache_keys, minute) -> _Lookup | None:
    """On the file backend: the generations are read (small files) at every
    request, and a page this process already holds under exactly these
    generations is served from its copy instead of reading and unpickling the
    page's file again. None: no copy or a generation missing (the usual way)."""
    from procure.catalog.years import this_year

    try:
        values = cache.get_many(*cache_keys)
    except Exception:  # noqa: BLE001 - the usual way says it
        return None
    if any(v is None for v in values):
        return None
    stamp = (tuple(values), this_year(), minute)
    found = dict(zip(names, values))
    entry = copies.get(key)
    if entry is None or entry[0] != stamp:
        try:
            entry = cache.get(key)
        except Exception:  # noqa: BLE001
            return None
        if entry is not None and entry[0] == stamp:
            copies.keep(key, entry)
    return _Lookup(key, stamp, found, entry)


def _fill_tokens(body: str) -> str:
    if CSRF_PLACEHOLDER in body:
        body = body.replace(CSRF_PLACEHOLDER, generate_csrf())
    if VISITOR_CSRF_PLACEHOLDER in body:
        body = body.replace(VISITOR_CSRF_PLACEHOLDER, generate_csrf() if "csrf_token" in session else "")
    return body


def _not_modified(etag: str, last_modified: datetime | None) -> bool:
    if request.if_none_match:
        return etag in request.if_none_match
    return last_modified is not None and request.if_modified_since is not None \
        and request.if_modified_since >= last_modified


def _respond(spec: PageSpec, body: str | None, etag: str, last_modified: datetime | None) -> Response:
    if body is None:
        response = Response(status=304)
    else:
        response = Response(_fill_tokens(body), mimetype="text/html")
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Content-Language"] = "zh-CN" if visitor_locale().startswith("zh") else visitor_locale()
    return set_public(response, current_app.config[spec.max_age])


def _etag(lookup: _Lookup) -> str:
    return _digest(lookup.key, lookup.stamp, session.get("csrf_token", ""))


def serve_early() -> Response | None:
    """``before_request``: a cached public page for a plainly anonymous visitor,
    served from the cache before any other hook runs (rate limiter, user loader,
    the view); None (go on as usual) on a miss."""
    endpoint = request.endpoint
    if endpoint is None:
        return None
    spec = getattr(current_app.view_functions.get(endpoint), "page_spec", None)
    if spec is None or not _plainly_anonymous():
        return None
    lookup = _lookup(spec, create=False)
    g._page_lookup = lookup
    if lookup.stamp is None:
        return None
    etag = _etag(lookup)
    entry = lookup.entry
    hit = entry is not None and entry[0] == lookup.stamp
    if request.if_none_match and etag in request.if_none_match:
        g.plainly_anonymous = True
        return _respond(spec, None, etag, entry[2] if hit else None)
    if not hit:
        return None
    g.plainly_anonymous = True
    if _not_modified(etag, entry[2]):
        return _respond(spec, None, etag, entry[2])
    return _respond(spec, entry[1], etag, entry[2])


def cached_page(*, depends: Iterable[str], max_age: str = "HTTP_MAX_AGE_LIST", per_minute: bool = False,
                last_modified: str | None = None):
    """Decorator of a public view that returns its page as a string: for anonymous
    visitors the page is served from (and kept in) the server-side cache, with
    ETag/304, ``Last-Modified`` (the time of the ``last_modified`` generation) and
    ``Cache-Control: public, max-age=<config[max_age]>``; everyone else gets the
    view's answer as it is. ``depends``: the generations the page shows (see
    ``GENERATIONS``); ``per_minute``: the page shows countdowns."""
    spec = PageSpec(tuple(depends), max_age, per_minute, last_modified)
    for name in spec.depends:
        if name not in GENERATIONS:
            raise ValueError(f"unknown generation {name!r}")

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            return _serve(spec, lambda: view(*args, **kwargs))

        wrapper.page_spec = spec
        return wrapper

    return decorate


def _serve(spec: PageSpec, render: Callable[[], str]) -> Response | str:
    if not cacheable_request():
        return render()
    lookup = g.pop("_page_lookup", None)
    if lookup is None or lookup.stamp is None:
        lookup = _lookup(spec, create=True)
    etag = _etag(lookup)
    entry = lookup.entry
    if entry is not None and entry[0] == lookup.stamp:
        body, modified = entry[1], entry[2]
    else:
        g._caching_render = True
        try:
            body = render()
        finally:
            g._caching_render = False
        modified = None
        if spec.last_modified:
            modified = _http_date(generation_time(lookup.generations[spec.last_modified]))
        _set(lookup.key, (lookup.stamp, body, modified))
        local = _local()
        if local is not None:
            local.pages.keep(lookup.key, (lookup.stamp, body, modified))
    if _not_modified(etag, modified):
        return _respond(spec, None, etag, modified)
    return _respond(spec, body, etag, modified)


def conditional_list(response: Response, max_age: int | None = None) -> Response:
    """A rendered public list that is not kept server-side (it changes with every
    row): for anonymous visitors an ETag of the body, 304 when it matches, and a
    short public max-age; anything else is returned unchanged."""
    if not cacheable_request() or response.status_code != 200:
        return response
    response.add_etag()
    response.make_conditional(request)
    return set_public(response, current_app.config["HTTP_MAX_AGE_LIST"] if max_age is None else max_age)


# === the visitor forms (language, text size) without a session ===============


def visitor_csrf_token() -> str:
    """The CSRF token of the site-wide forms a visitor sees on every page: the
    session's token when the visitor has a session (or is signed in), else empty,
    so that reading a page never creates a session (and never sets a cookie)."""
    if g.get("_caching_render"):
        return VISITOR_CSRF_PLACEHOLDER
    if "csrf_token" in session or "_user_id" in session or current_user.is_authenticated:
        return generate_csrf()
    return ""


def _same_origin() -> bool:
    """The browser says the request comes from a page of this site (``Origin``,
    else ``Referer``): a cross-site form cannot forge these headers."""
    here = urlsplit(request.host_url)
    source = request.headers.get("Origin") or request.referrer
    if not source or source == "null":
        return False
    there = urlsplit(source)
    return (there.scheme, there.netloc) == (here.scheme, here.netloc)


def protect_visitor_preference() -> None:
    """CSRF check of the language and text-size switches (exempt from the global
    check): the session's token as everywhere; a visitor without a login whose
    page carried no token (no session yet) may switch from a page of this site."""
    from procure.extensions import csrf

    if not current_app.config.get("WTF_CSRF_ENABLED", True) or not current_app.config.get("WTF_CSRF_CHECK_DEFAULT", True):
        return
    try:
        csrf.protect()
    except CSRFError:
        signed_in = "_user_id" in session or current_user.is_authenticated
        if signed_in or request.form.get("csrf_token") or not _same_origin():
            raise
