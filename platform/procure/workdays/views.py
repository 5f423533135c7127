"""The platform admin's page for the official working calendar."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from procure import policy
from procure.errors import DomainError
from procure.extensions import db
from procure.timeutil import utcnow
from procure.viewkit import submit
from procure.workdays import forms, services

bp = Blueprint("workdays", __name__, url_prefix="/admin/workdays")

MAX_CSV_BYTES = 64 * 1024


@bp.app_context_processor
def missing_year_banner():
    def workdays_missing_year() -> int | None:
        """Next year's arrangement, when an admin must still enter it."""
        if not policy.can_manage_workdays(current_user):
            return None
        today = services.local_date(utcnow(), current_app.config["TIMEZONE"])
        return services.missing_next_year(db.session, today)

    return {"workdays_missing_year": workdays_missing_year}


def recompute_provisional(session) -> int:
    """Provisional deadlines that have not passed, recomputed on the entered
    calendar (each domain's service tells those concerned)."""
    from procure.tenders import services as tenders

    return tenders.recompute_provisional_deadlines(
        session, now=utcnow(), rules=tenders.Rules.from_config(current_app.config))


@bp.route("", methods=["GET", "POST"])
@login_required
def index():
    policy.require(policy.can_manage_workdays(current_user))
    form = forms.YearForm()

    def enter():
        upload = form.csv_file.data
        if upload and getattr(upload, "filename", ""):
            data = upload.read(MAX_CSV_BYTES + 1)
            if len(data) > MAX_CSV_BYTES:
                raise DomainError(_("文件过大。"), field="csv_file")
            holidays, workdays = services.parse_csv(data)
        else:
            holidays = services.parse_days(form.holidays.data, field="holidays")
            workdays = services.parse_days(form.workdays.data, field="workdays")
        services.enter_year(db.session, form.year.data, holidays=holidays, workdays=workdays, actor=current_user)
        return recompute_provisional(db.session)

    if submit(form, enter, success=lambda changed: _(
            "%(year)s 年的放假安排已保存，%(n)d 个暂定期限已重新计算。", year=form.year.data, n=changed)):
        return redirect(url_for("workdays.index"))
    return render_template("workdays/index.html", form=form, years=services.entered_years(db.session))
