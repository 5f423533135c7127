"""Pages: what an organization follows, a user's email preferences, the
one-click unsubscribe page (no login: a signed token), and the admin's page
of emails that failed for good."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from procure import policy
from procure.alerts import forms, preferences, services
from procure.extensions import csrf, db
from procure.geo import queries as geo_queries
from procure.notifications import queries as notification_queries
from procure.notifications import services as notification_services
from procure.viewkit import act, found, submit

bp = Blueprint("alerts", __name__)


def _my_org():
    membership = policy.org_membership(current_user)
    policy.require(membership is not None, hide=True)
    return membership.organization


@bp.route("/organizations/mine/follows", methods=["GET", "POST"])
@login_required
def follows():
    org = _my_org()
    policy.require(policy.can_view_follows(current_user, org), hide=True)
    can_manage = policy.can_manage_follows(current_user, org)
    form = forms.FollowForm()
    counties = geo_queries.counties(db.session)
    form.county.choices = [SelectChoice("", _("请选择"))] + [SelectChoice(c.code, c.name) for c in counties]
    if request.method == "POST":
        policy.require(can_manage)
        if submit(form, lambda: services.follow(db.session, org,
                                                county=geo_queries.county_by_code(db.session, form.county.data),
                                                category_code=form.category.data or ""),
                  success=_l("已关注。"), fallback="county"):
            return redirect(url_for("alerts.follows"))
    follows = services.follows_of(db.session, org)
    return render_template("alerts/follows.html", org=org, follows=follows, form=form, can_manage=can_manage,
                           picker=_category_picker(org, follows) if can_manage else None), \
        (400 if form.errors else 200)


def _category_picker(org, follows):
    """The upper categories of the organization's own county's current
    catalog (the tenders it may bid for), each marked if already followed."""
    from procure.catalog import queries as catalog_queries

    catalog = catalog_queries.current_published(db.session, org.county_id) if org.county_id else None
    if catalog is None:
        return None
    followed = {f.category_code for f in follows if f.county_id == org.county_id}
    return {"county": org.county, "catalog": catalog,
            "categories": [(c, c.code in followed) for c in catalog_queries.upper_categories(db.session, catalog)],
            "county_followed": "" in followed}


@bp.route("/organizations/mine/follows/<int:follow_id>/delete", methods=["POST"])
@login_required
def unfollow(follow_id: int):
    org = _my_org()
    policy.require(policy.can_manage_follows(current_user, org))
    found(services.follow_of(db.session, org, follow_id))
    act(lambda: services.unfollow(db.session, org, follow_id), success=_l("已取消关注。"))
    return redirect(url_for("alerts.follows"))


@bp.route("/account/email-preferences", methods=["GET", "POST"])
@login_required
def email_preferences():
    values = preferences.all_for(db.session, current_user.id)
    form = forms.PreferencesForm(data=values if request.method == "GET" else None)
    is_officer = policy.is_officer(current_user)
    kinds = (preferences.TENDER_ALERTS, preferences.DEADLINE_REMINDERS) + (
        (preferences.OFFICER_DIGEST,) if is_officer else ())

    def save():
        for kind in kinds:
            if getattr(form, kind).data:
                preferences.set_value(db.session, current_user.id, kind, getattr(form, kind).data)

    if submit(form, save, success=_l("邮件设置已保存。")):
        return redirect(url_for("alerts.email_preferences"))
    undeliverable = notification_queries.undeliverable_addresses(db.session, [current_user.email])
    return render_template("alerts/preferences.html", form=form, is_officer=is_officer,
                           undeliverable=undeliverable.get(current_user.email.lower())), (400 if form.errors else 200)


KIND_LABELS = {
    preferences.TENDER_ALERTS: _l("新项目提醒"),
    preferences.DEADLINE_REMINDERS: _l("投标截止提醒"),
    preferences.OFFICER_DIGEST: _l("每日待办摘要"),
}


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without a form; the token authorizes
def unsubscribe(token: str):
    read = preferences.read_unsubscribe_token(token, current_app.config)
    if read is None:
        return render_template("alerts/unsubscribe.html", invalid=True), 404
    user_id, kind = read
    from procure.accounts.models import User

    user = db.session.get(User, user_id)
    if user is None:
        return render_template("alerts/unsubscribe.html", invalid=True), 404
    done = False
    if request.method == "POST":
        done = bool(act(lambda: preferences.set_value(db.session, user.id, kind, preferences.UNSUBSCRIBED[kind])))
    return render_template("alerts/unsubscribe.html", invalid=False, done=done, kind_label=KIND_LABELS[kind],
                           token=token)


# --- the admin's outbox page ---------------------------------------------------


@bp.route("/manage/emails/failed")
@login_required
def failed_emails():
    policy.require(policy.can_manage_email_outbox(current_user))
    page = request.args.get("page", 1, type=int)
    if page < 1 or page > 10_000:
        abort(404)
    rows, has_more = notification_queries.failed_for_good(
        db.session, notification_services.attempt_cap(), page=page)
    return render_template("alerts/failed_emails.html", rows=rows, page=page, has_more=has_more)


@bp.route("/manage/emails/<int:notification_id>/retry", methods=["POST"])
@login_required
def retry_email(notification_id: int):
    policy.require(policy.can_manage_email_outbox(current_user))
    found(notification_queries.retryable(db.session, notification_id))
    # Handed on for delivery after the commit.
    act(lambda: notification_services.retry(db.session, notification_id), success=_l("已重新发送。"))
    return redirect(url_for("alerts.failed_emails"))
