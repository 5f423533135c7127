"""Site-wide pages: home, language switch, health check."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from procure import caching
from procure.accounts import services as account_services
from procure.catalog import queries as catalog_queries
from procure.catalog import years
from procure.extensions import csrf, db
from procure.security import safe_next
from procure.site import landing
from procure.viewkit import act

bp = Blueprint("site", __name__)


@bp.app_context_processor
def work_badges():
    def officer_work() -> dict[str, int]:
        if not getattr(current_user, "is_authenticated", False):
            return {}
        return landing.officer_work(current_user)

    # A function, so the counts are queried only where a page shows them.
    return {"officer_work": officer_work}


@bp.route("/")
@caching.cached_page(depends=("catalogs", "tenders"), per_minute=True)
def home():
    """Counties with a published catalog, grouped by city, each with the catalog
    that applies this year (one query at one county as at 151), and the open
    tenders. Cached per minute (the countdowns move with the clock) and per
    generation of catalogs and tenders (a tender published, amended, opened or
    cancelled is a new generation)."""
    from procure.tenders import queries as tender_queries
    from procure.timeutil import utcnow

    now = utcnow()
    open_tenders = tender_queries.open_tenders(db.session, limit=10)
    cities = catalog_queries.published_counties_by_city(db.session, years.this_year())
    return render_template("site/home.html", cities=cities, open_tenders=open_tenders, now=now,
                           remaining=tender_queries.remaining)


@bp.route("/language/<code>", methods=["POST"])
@csrf.exempt  # checked below: a visitor's page may carry no token (procure.caching)
def set_language(code: str):
    caching.protect_visitor_preference()
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
        if current_user.is_authenticated:
            act(lambda: account_services.set_locale(db.session, current_user, code))
    return redirect(_back())


def _back() -> str:
    """Back where a site-wide switch was pressed: the form's ``next``, else the
    referring page; a full URL is reduced to its path on this site."""
    target = request.form.get("next") or request.referrer
    destination = None
    if target:
        parts = urlsplit(target.strip())
        destination = safe_next(target) or safe_next((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    return destination or url_for("site.home")


TEXT_SIZES = ("large", "normal")


def large_text() -> bool:
    """大字版 on for this request: the account's setting for a signed-in user,
    the cookie for a visitor."""
    if current_user.is_authenticated:
        return bool(current_user.large_text)
    return request.cookies.get(current_app.config["TEXT_SIZE_COOKIE"]) == "large"


@bp.route("/text-size", methods=["POST"])
@csrf.exempt  # checked below, as the language switch
def set_text_size():
    """The 大字版 switch: kept in a cookie (visitors) and in the account."""
    caching.protect_visitor_preference()
    size = request.form.get("size", "")
    if size not in TEXT_SIZES:
        abort(400)
    if current_user.is_authenticated:
        act(lambda: account_services.set_large_text(db.session, current_user, size == "large"))
    response = redirect(_back())
    config = current_app.config
    response.set_cookie(
        config["TEXT_SIZE_COOKIE"], size, max_age=config["TEXT_SIZE_COOKIE_MAX_AGE"],
        secure=config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax",
    )
    return response


@bp.route("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
