"""Login, logout, password change, email confirmation and password reset.

Rate limits (Flask-Limiter, limits from the config):
- login: failed attempts only, per account (the email typed) and per client IP;
  while a limit is exceeded the form does nothing, even with the right
  password, and says until when (in the configured TIMEZONE);
- password reset requests: per email and per IP;
- resending the confirmation email: per user.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from procure import policy, timeutil
from procure.security import safe_next
from procure.accounts import forms, queries, services
from procure.accounts.gate import pending_user
from procure.accounts.models import Role, User
from procure.accounts.tokens import InvalidToken
from procure.extensions import db, limiter
from procure.site import landing
from procure.viewkit import act, found, show_error, submit

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _limit(name: str):
    """A rate limit of the config (procure.config), read per request."""
    return lambda: current_app.config[name]


def _retry_text(limit: RequestLimit) -> dict:
    reset_at = datetime.fromtimestamp(limit.reset_at, timezone.utc)
    local = timeutil.localtime(reset_at, current_app.config["TIMEZONE"])
    # "About N minutes": reset_at is whole seconds, rounded up by the limiter.
    minutes = max(1, round((limit.reset_at - time.time()) / 60))
    return {"time": local.strftime("%H:%M"), "minutes": minutes}


def _form_email_key(prefix: str):
    def key() -> str:
        email = services.normalize_email(request.form.get("email", ""))
        return f"{prefix}:{email}" if email else ""

    return key


# === login and logout ========================================================


def _login_failed(_response) -> bool:
    return bool(g.get("login_failed"))


def _locked_page(message: str):
    form = forms.LoginForm()
    form.password.data = ""
    return make_response(render_template("accounts/login.html", form=form, locked=message), 429)


def _account_locked(limit: RequestLimit):
    return _locked_page(
        _(
            "该账号登录失败次数过多，已暂时锁定。请在 %(time)s（北京时间，约 %(minutes)d 分钟后）再试，"
            "或通过“忘记密码”重设密码。",
            **_retry_text(limit),
        )
    )


def _ip_locked(limit: RequestLimit):
    return _locked_page(
        _(
            "来自您的网络地址的登录失败次数过多，已暂时锁定。请在 %(time)s（北京时间，约 %(minutes)d 分钟后）再试。",
            **_retry_text(limit),
        )
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _limit("LOGIN_LIMIT_PER_ACCOUNT"),
    key_func=_form_email_key("account"),
    methods=["POST"],
    deduct_when=_login_failed,
    on_breach=_account_locked,
)
@limiter.limit(
    _limit("LOGIN_LIMIT_PER_IP"),
    key_func=get_remote_address,
    methods=["POST"],
    deduct_when=_login_failed,
    on_breach=_ip_locked,
)
def login():
    form = forms.LoginForm()
    attempt = submit(form, lambda: services.authenticate(db.session, form.email.data, form.password.data))
    user = attempt.value
    if attempt and user is None:
        g.login_failed = True
        flash(_("邮箱或密码不正确。"), "danger")
    elif user is not None:
        login_user(user, remember=form.remember.data)
        if user.email_confirmed_at is None:
            flash(_("已登录。请先确认您的邮箱，然后才能使用平台的其他功能。"), "warning")
            return redirect(url_for("accounts.unconfirmed"))
        flash(_("已登录。"), "success")
        return redirect(safe_next(request.args.get("next")) or landing.landing_url(user))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("已退出登录。"), "info")
    return redirect(url_for("site.home"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = forms.ChangePasswordForm()
    if submit(
        form,
        lambda: services.change_password(db.session, current_user, form.current_password.data, form.new_password.data),
        success=_("密码已修改，其他设备上的登录已失效。"),
        fallback="new_password",
    ):
        # The token rotated: log the current browser in again with the new one.
        login_user(current_user._get_current_object())
        return redirect(url_for("site.home"))
    return render_template("accounts/change_password.html", form=form)


# === email confirmation =====================================================


@bp.route("/unconfirmed")
def unconfirmed():
    """"Please confirm your email", with a resend button."""
    user = pending_user()
    if user is None:
        if current_user.is_authenticated:
            return redirect(url_for("site.home"))
        return redirect(url_for("accounts.login"))
    return render_template("accounts/unconfirmed.html", user=user, form=forms.ResendConfirmationForm())


def _resend_key() -> str:
    user = pending_user()
    return f"resend:{user.id}" if user is not None else ""


def _resend_limited(limit: RequestLimit):
    flash(
        _("确认邮件发送过于频繁，请在 %(time)s（北京时间，约 %(minutes)d 分钟后）再试。", **_retry_text(limit)),
        "warning",
    )
    return redirect(url_for("accounts.unconfirmed"))


@bp.route("/unconfirmed/resend", methods=["POST"])
@limiter.limit(_limit("CONFIRM_RESEND_LIMIT"), key_func=_resend_key, on_breach=_resend_limited)
def resend_confirmation():
    user = pending_user()
    if user is None:
        return redirect(url_for("accounts.unconfirmed"))
    submit(
        forms.ResendConfirmationForm(),
        lambda: services.send_email_confirmation(db.session, user),
        success=_("确认邮件已重新发送到 %(email)s，请查收（也请看看垃圾邮件箱）。", email=user.email),
        flash_errors=True,
    )
    return redirect(url_for("accounts.unconfirmed"))


@bp.route("/confirm/<token>")
def confirm_email(token: str):
    done = act(
        lambda: services.confirm_email(db.session, token),
        success=lambda user: _("邮箱 %(email)s 已确认。", email=user.email),
        show=False,
    )
    if not done:
        return _link_problem(done.error, kind="confirm")
    user = done.value
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(url_for("site.home"))
    logout_user()  # whoever was signed in here, the link was for someone else
    flash(_("请登录。"), "info")
    return redirect(url_for("accounts.login"))


def _link_problem(exc, *, kind: str):
    """The page for a confirmation or reset link that cannot be used (400)."""
    return (
        render_template(
            "accounts/link_problem.html", message=exc.message, reason=getattr(exc, "reason", "invalid"), kind=kind,
            pending=pending_user(),
        ),
        400,
    )


# === password reset ==========================================================


def _reset_limited(limit: RequestLimit):
    form = forms.ResetRequestForm()
    message = _("重置请求过于频繁，请在 %(time)s（北京时间，约 %(minutes)d 分钟后）再试。", **_retry_text(limit))
    return make_response(render_template("accounts/reset_request.html", form=form, locked=message), 429)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(
    _limit("PASSWORD_RESET_LIMIT_PER_EMAIL"), key_func=_form_email_key("reset"), methods=["POST"],
    on_breach=_reset_limited,
)
@limiter.limit(
    _limit("PASSWORD_RESET_LIMIT_PER_IP"), key_func=get_remote_address, methods=["POST"], on_breach=_reset_limited
)
def reset_request():
    form = forms.ResetRequestForm()
    # The same answer whether or not the address is registered.
    if submit(
        form,
        lambda: services.request_password_reset(db.session, form.email.data),
        success=lambda _sent: _(
            "如果 %(email)s 是已注册的邮箱，我们已向它发送了重置密码的链接，%(minutes)d 分钟内有效。",
            email=services.normalize_email(form.email.data),
            minutes=services.reset_max_age() // 60,
        ),
        category="info",
    ):
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        services.user_for_reset_token(db.session, token)
    except InvalidToken as exc:
        return _link_problem(exc, kind="reset")
    form = forms.ResetPasswordForm()
    done = submit(
        form,
        lambda: services.reset_password(db.session, token, form.password.data),
        success=_("密码已重设，所有设备上的登录均已失效。请用新密码登录。"),
        show=False,
    )
    if done:
        logout_user()
        return redirect(url_for("accounts.login"))
    if isinstance(done.error, InvalidToken):
        return _link_problem(done.error, kind="reset")
    if done.error is not None:
        show_error(form, done.error, fallback="password")
    return render_template("accounts/reset_password.html", form=form)


# === platform admin ==========================================================


@bp.route("/users")
@login_required
def users():
    """The platform admin's list of accounts and their roles (read-only)."""
    policy.require(policy.can_list_users(current_user))
    query = request.args.get("q", "")[:100]
    return render_template("accounts/users.html", users=queries.all_users(db.session, query=query), query=query)


@bp.route("/officials", methods=["GET", "POST"])
@login_required
def officials():
    """The platform admin's officials: appoint county and township officers (an
    invitation email sets the password), disable them, and see the counties whose
    applications wait for a reviewer nobody is."""
    from procure.geo import queries as geo_queries
    from procure.organizations import queries as org_queries

    policy.require(policy.can_manage_officials(current_user))
    form = forms.AppointOfficialForm()

    def appoint():
        division = geo_queries.by_code(db.session, (form.division.data or "").strip())
        return services.appoint_official(
            db.session, email=form.email.data, name=form.name.data, role=Role(form.role.data), division=division,
            appointed_by=current_user._get_current_object(),
        )

    def appointed(result) -> str:
        user, created = result
        if created:
            return _("已任命 %(email)s，并发送了设置密码的邀请邮件。", email=user.email)
        return _("已任命 %(email)s（已有账号），并发送了通知邮件。", email=user.email)

    if submit(form, appoint, success=appointed):
        return redirect(url_for("accounts.officials"))
    return render_template(
        "accounts/officials.html",
        form=form,
        officials=queries.officials(db.session),
        waiting=org_queries.counties_awaiting_a_reviewer(db.session),
        toggle=forms.AccountActiveForm(),
    )


@bp.route("/officials/<int:user_id>/active", methods=["POST"])
@login_required
def set_official_active(user_id: int):
    policy.require(policy.can_manage_officials(current_user))
    user = found(db.session.get(User, user_id))
    active = request.form.get("active") == "1"
    submit(
        forms.AccountActiveForm(),
        lambda: services.set_active(db.session, user, active, actor=current_user._get_current_object()),
        success=(_("已重新启用 %(email)s。", email=user.email) if active
                 else _("已停用 %(email)s，其登录已失效。", email=user.email)),
        flash_errors=True,
    )
    return redirect(url_for("accounts.officials"))
