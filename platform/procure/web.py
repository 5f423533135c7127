"""Wiring of extensions, blueprints, commands and request hooks. Explicit: every
blueprint and command group of the application is registered here."""
from __future__ import annotations

import logging

from flask import Flask, Response, g, render_template, request, session
from flask_babel import get_locale, get_translations

from procure import timeutil
from procure.config import PROJECT_ROOT
from procure.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate
from procure.localememo import per_locale

log = logging.getLogger(__name__)


def select_locale() -> str:
    from flask import current_app, has_request_context
    from flask_login import current_user

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, workers, services outside a request
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    current_user._get_current_object()  # the user loader runs once per request (accounts.gate)
    if g.get("signed_in"):  # the account's language, as loaded (no reload after a commit)
        if g.get("user_locale") in languages:
            return g.user_locale
    elif current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _init_events() -> None:
    """The planner's subjects and the officers' due work, wired explicitly
    (registering twice is harmless)."""
    from procure.alerts import digest
    from procure.challenges import queries as challenge_queries
    from procure.contracts import queries as contract_queries
    from procure.tenders import alerting as tender_alerting

    tender_alerting.register()  # new-tender alerts, deadline reminders, tenders opening today, questions
    digest.register_due_work(challenge_queries.replies_due)
    digest.register_due_work(contract_queries.contracts_due)


def _request_translations():
    """Flask-Babel's translations of this request's locale, found once per request
    and locale: a page with a thousand labels (the catalog editor) no longer
    runs Flask-Babel's locale and domain resolution a thousand times."""
    return per_locale("procure_translations", get_translations)


def _install_template_gettext(app: Flask) -> None:
    """The templates' ``_``/``gettext``/``ngettext`` (Flask-Babel's, newstyle)
    through ``_request_translations``."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _request_translations().ugettext(s),
        ngettext=lambda s, p, n: _request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _request_translations().unpgettext(c, s, p, n),
    )


def init_app(app: Flask) -> None:
    # Models must be imported before migrations or queries run.
    from procure import inputs, models  # noqa: F401

    # First: the bounded ``int`` converter must be in place before any route
    # is added, and hostile input is refused before any other hook reads it.
    inputs.init_app(app)
    # Then cache hits of public pages for anonymous visitors, before the rate
    # limiter, the CSRF check and the user loader (procure.caching).
    from procure import caching, private_pages

    app.before_request(caching.serve_early)
    # Then kept signed-in pages for remembered login sessions (procure.private_pages).
    private_pages.init_app(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(PROJECT_ROOT / "platform" / "procure" / "translations"),
    )
    _install_template_gettext(app)
    _init_login(app)

    from procure.accounts.cli import users_cli
    from procure.accounts.views import bp as accounts_bp
    from procure.alerts.views import bp as alerts_bp
    from procure.catalog.cli import catalog_cli
    from procure.catalog.views import bp as catalog_bp
    from procure.demo.cli import demo_cli
    from procure.challenges.views import bp as challenges_bp
    from procure.contracts.views import bp as contracts_bp
    from procure.evaluation.views import bp as evaluation_bp
    from procure.geo.cli import geo_cli
    from procure.jobs.cli import jobs_cli
    from procure.notifications.cli import notifications_cli
    from procure.notifications.services import install_delivery_hooks
    from procure.notifications.views import bp as notifications_bp
    from procure.organizations.views import bp as organizations_bp
    from procure.bids.views import bp as bids_bp
    from procure.site.views import bp as site_bp
    from procure.tenders.views import bp as tenders_bp
    from procure.tenders.cli import tenders_cli
    from procure.workdays.views import bp as workdays_bp

    for blueprint in (site_bp, accounts_bp, catalog_bp, notifications_bp, organizations_bp, alerts_bp, workdays_bp,
                      tenders_bp, bids_bp, evaluation_bp, challenges_bp, contracts_bp):
        app.register_blueprint(blueprint)
    for command_group in (geo_cli, users_cli, demo_cli, notifications_cli, jobs_cli, catalog_cli, tenders_cli):
        app.cli.add_command(command_group)
    install_delivery_hooks()  # notification emails are handed on after commit
    _init_events()

    _init_templates(app)
    _init_errors(app)

    from procure import security

    security.init_app(app)  # security headers on every response

    caching.init_app(app)  # server-side page cache, conditional requests


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    # User loader and unauthorized handler: the email-confirmation gate.
    from procure.accounts import gate

    gate.init_app(app)


def _init_templates(app: Flask) -> None:
    from procure import a11y, policy
    from procure.site.views import large_text

    a11y.init_app(app)  # lang on Chinese data, form errors tied to their fields
    app.add_template_global(large_text)
    app.add_template_global(UrlTemplate, "url_template")

    @app.template_filter("localtime")
    def localtime_filter(value, fmt="%Y-%m-%d %H:%M"):
        local = timeutil.localtime(value, app.config["TIMEZONE"])
        return local.strftime(fmt) if local else ""

    @app.context_processor
    def inject():
        return {
            "policy": policy,
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
        }


class UrlTemplate:
    """``url_for(endpoint, **values)`` for many values of one integer argument,
    built once: ``url_template('catalog.manage_edit_item', 'item_id',
    catalog_id=3)(41)`` is ``url_for('catalog.manage_edit_item', catalog_id=3,
    item_id=41)``. For pages that link every row of a long list (url_for costs
    tens of microseconds a call)."""

    SENTINEL = 2147480321  # an int the route's converter accepts, unlikely elsewhere in the URL

    def __init__(self, endpoint: str, argument: str, **values):
        from flask import url_for

        self.endpoint, self.argument, self.values = endpoint, argument, values
        parts = url_for(endpoint, **{**values, argument: self.SENTINEL}).split(str(self.SENTINEL))
        self.parts = parts if len(parts) == 2 else None  # else: url_for at each call

    def __call__(self, value: int) -> str:
        value = int(value)
        if self.parts is None:
            from flask import url_for

            return url_for(self.endpoint, **{**self.values, self.argument: value})
        return f"{self.parts[0]}{value}{self.parts[1]}"


def render_error(code: int, error, **context):
    """The error page inside the site's layout. Rolls the database session
    back first (the failed request may have left it in a failed transaction,
    and the layout reads the signed-in user's inbox count); never fails: if
    the page cannot be rendered, a plain-text answer with the same status."""
    try:
        db.session.rollback()
    except Exception:  # the database itself may be what failed
        log.exception("rollback before the %s error page failed", code)
    try:
        return render_template("errors/error.html", code=code, error=error, **context), code
    except Exception:
        log.exception("the %s error page failed to render", code)
        try:
            db.session.rollback()
        except Exception:
            pass
        return Response(f"{code}\n", status=code, mimetype="text/plain"), code


def _init_errors(app: Flask) -> None:
    def handler(code):
        def render(error):
            return render_error(code, error)

        return render

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, handler(code))

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        # A missing or stale form token: say so in the user's language.
        return render_error(400, error, csrf_failed=True)
