"""The email-confirmation gate, in one place for the whole application.

A signed-in user whose email is not confirmed yet is loaded as a real user only
on the few endpoints listed in ``ALLOWED_WHILE_UNCONFIRMED`` (logout, the
"please confirm / resend" page, the confirmation link, the language switch).
Everywhere else the user loader returns no user: the request runs as
anonymous, so public pages work as for any visitor and every page that needs a
login or a permission refuses, as it would for anyone anonymous; pages behind
``login_required`` send the user to the "please confirm" page instead of the
login form. No view needs to know about any of this.
"""
from __future__ import annotations

from flask import Flask, flash, g, has_request_context, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login.utils import login_url

from procure.accounts import queries
from procure.extensions import db, login_manager

ALLOWED_WHILE_UNCONFIRMED = frozenset(
    {
        "accounts.logout",
        "accounts.unconfirmed",
        "accounts.resend_confirmation",
        "accounts.confirm_email",
        "site.set_language",
        "static",
        "bootstrap.static",
    }
)


def load_user(token: str):
    """Flask-Login's user loader: the session (or the remember-me cookie)
    holds the token of an open LoginSession of an active user."""
    user = queries.by_login_token(db.session, token)
    if user is None:
        return None
    user.login_token = token
    if user.email_confirmed_at is not None:
        if has_request_context():
            # Read by the locale selector and the response hooks, which may run
            # after a commit (the user's attributes expired): no reload for them.
            g.signed_in = True
            g.user_locale = user.locale
        return user
    if has_request_context():
        g.pending_user = user
        if request.endpoint in ALLOWED_WHILE_UNCONFIRMED:
            return user
    return None


def pending_user():
    """The signed-in user still waiting for email confirmation, or None."""
    if not has_request_context():
        return None
    current_user._get_current_object()  # runs the user loader once per request
    return g.get("pending_user")


def unauthorized():
    """Where ``login_required`` sends a visitor without an (usable) login."""
    if pending_user() is not None:
        flash(_("请先确认您的邮箱：点击我们发给您的邮件中的链接。"), "warning")
        return redirect(url_for("accounts.unconfirmed"))
    flash(str(login_manager.login_message), login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, request.url))


def _session_started(sender, user, **_extra) -> None:
    """``user_logged_in``: every ``login_user`` (login form, registration,
    accepted invitation, password change) starts its own revocable login
    session; the cookies hold its token."""
    from flask import session as cookie_session

    from procure.accounts import services
    from procure.viewkit import act

    token = act(lambda: services.start_session(db.session, user)).value
    cookie_session["_user_id"] = token  # Flask-Login writes the remember cookie from it


def _session_ended(sender, user, **_extra) -> None:
    """``user_logged_out``: the login session is revoked, so a cookie copied
    before logout (session or remember-me) is useless afterwards."""
    from procure.accounts import services
    from procure.viewkit import act

    token = getattr(user, "login_token", None)
    if token:
        act(lambda: services.end_session(db.session, token, getattr(user, "id", None)))


def init_app(app: Flask) -> None:
    from flask_login import user_logged_in, user_logged_out

    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    user_logged_in.connect(_session_started, app)
    user_logged_out.connect(_session_ended, app)

    @app.context_processor
    def inject_pending_user():
        return {"pending_user": pending_user}
