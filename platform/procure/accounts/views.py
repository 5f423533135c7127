from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from procure.accounts import forms, services
from procure.errors import DomainError
from procure.extensions import db

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = forms.LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            db.session.rollback()
            flash(_("邮箱或密码不正确。"), "danger")
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            flash(_("已登录。"), "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("site.home"))
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
    if form.validate_on_submit():
        try:
            services.change_password(db.session, current_user, form.current_password.data, form.new_password.data)
        except DomainError as exc:
            db.session.rollback()
            getattr(form, exc.field or "new_password").errors.append(str(exc.message))
        else:
            db.session.commit()
            # The token rotated: log the current browser in again with the new one.
            login_user(current_user._get_current_object())
            flash(_("密码已修改，其他设备上的登录已失效。"), "success")
            return redirect(url_for("site.home"))
    return render_template("accounts/change_password.html", form=form)
