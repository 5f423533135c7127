"""The on-site inbox: a user's notifications, newest first; opening one marks it read."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from procure import inputs, policy
from procure.extensions import db
from procure.notifications import queries, services
from procure.viewkit import act

bp = Blueprint("notifications", __name__, url_prefix="/inbox")


@bp.app_context_processor
def inbox_badge():
    def inbox_unread_count() -> int:
        if not getattr(current_user, "is_authenticated", False):
            return 0
        from procure.site.landing import navbar_counts

        return navbar_counts(current_user)["unread"]  # with the officer's badges: one statement

    # A function, so the count is queried only where a page shows it.
    return {"inbox_unread_count": inbox_unread_count}


@bp.route("")
@login_required
def index():
    page = inputs.int_arg("page", 1, minimum=1, maximum=inputs.PAGE_MAX)
    if page is None:
        abort(404)
    notifications, has_more = queries.inbox_page(db.session, current_user.id, page=page)
    if page > 1 and not notifications:
        abort(404)
    return render_template(
        "notifications/inbox.html",
        notifications=notifications,
        page=page,
        has_more=has_more,
        unread=queries.unread_count(db.session, current_user.id),
        undeliverable=queries.undeliverable_addresses(db.session, [current_user.email]).get(current_user.email.lower()),
    )


@bp.route("/<int:notification_id>")
@login_required
def show(notification_id: int):
    notification = queries.for_recipient(db.session, notification_id, current_user.id)
    policy.require(policy.can_read_notification(current_user, notification), hide=True)
    act(lambda: services.mark_read(db.session, notification))
    return render_template("notifications/show.html", notification=notification)


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    marked = act(lambda: services.mark_all_read(db.session, current_user.id))
    if marked.value:
        flash(_("已将 %(n)d 条消息标记为已读。", n=marked.value), "success")
    else:
        flash(_("没有未读消息。"), "info")
    return redirect(url_for("notifications.index"))
