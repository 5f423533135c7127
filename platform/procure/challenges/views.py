"""Challenge pages. Bidders (organization members): file a challenge on a
tender, see it and the reply. Officers of the county: the challenges to answer,
the reply, and what an upheld challenge leads to (re-open the evaluation or
cancel the tender)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from procure import paging, policy
from procure.challenges import forms, queries, services
from procure.challenges.models import STATUS_LABELS, SUBJECT_LABELS, ChallengeStatus, ChallengeSubject
from procure.evaluation import clocks, tenderfacts
from procure.evaluation import queries as evaluation_queries
from procure.evaluation import services as evaluation_services
from procure.extensions import db
from procure.tenders.models import Tender
from procure.timeutil import utcnow
from procure.viewkit import found, submit

bp = Blueprint("challenges", __name__)


def upload_root() -> Path:
    return Path(current_app.instance_path) / "uploads" / "challenges"


def _settings() -> services.ChallengeSettings:
    return services.ChallengeSettings.from_config(current_app.config)


def _labels() -> dict:
    return {"subject_labels": SUBJECT_LABELS, "status_labels": STATUS_LABELS}


def _period_end(instant) -> str:
    return f"{clocks.last_day(instant, current_app.config['TIMEZONE']).isoformat()} 24:00"


# === bidders ========================================================================


@bp.route("/tenders/<int:tender_id>/challenges/new", methods=["GET", "POST"])
@login_required
def new(tender_id: int):
    tender = found(db.session.get(Tender, tender_id))
    policy.require(policy.can_file_challenge(current_user) and tender.published_at is not None, hide=True)
    org_id = policy.organization_id_of(current_user)
    facts = tenderfacts.facts_for(tender)
    award = evaluation_queries.current_award(db.session, tender.id)
    add_workdays = clocks.platform_calendar(db.session)
    windows = {s.value: services.window(facts, s, award, add_workdays=add_workdays, settings=_settings())
               for s in ChallengeSubject}
    form = forms.ChallengeForm()

    def file_challenge():
        evidence = [services.Evidence(f.filename or "", f.read()) for f in form.files.data or [] if f and f.filename]
        bidders = {b.organization_id for b in tenderfacts.opened_bids(db.session, tender.id)}
        return services.file(
            db.session, facts, organization_id=org_id, bidder_org_ids=bidders, user=current_user,
            subject=form.subject.data, text=form.text.data, evidence=evidence, award=award,
            add_workdays=add_workdays, settings=_settings(), upload_root=upload_root(),
            max_bytes=current_app.config["CHALLENGE_EVIDENCE_MAX_BYTES"],
        )

    outcome = submit(form, file_challenge, success=_("质疑已提交。"), aliases={"file": "files"})
    if outcome:
        return redirect(url_for("challenges.show", challenge_id=outcome.value.id))
    return render_template("challenges/new.html", tender=tender, windows=windows, period_end=_period_end,
                           form=form, **_labels())


@bp.route("/challenges/<int:challenge_id>")
@login_required
def show(challenge_id: int):
    challenge = queries.get(db.session, challenge_id)
    policy.require(policy.can_view_challenge(current_user, challenge), hide=True)
    tender = db.session.get(Tender, challenge.tender_id)
    return render_template("challenges/show.html", challenge=challenge, tender=tender, period_end=_period_end,
                           can_answer=policy.can_answer_challenge(current_user, challenge),
                           overdue=services.is_overdue(challenge, utcnow()), **_labels())


@bp.route("/challenges/<int:challenge_id>/files/<int:file_id>")
@login_required
def download(challenge_id: int, file_id: int):
    challenge = queries.get(db.session, challenge_id)
    policy.require(policy.can_view_challenge(current_user, challenge), hide=True)
    item = found(queries.file_of(db.session, challenge_id, file_id))
    path = upload_root() / str(challenge.id) / item.stored_name
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=item.content_type, as_attachment=True, download_name=item.filename,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# === officers =======================================================================


@bp.route("/manage/challenges")
@login_required
def manage_index():
    policy.require(policy.can_view_officer_lists(current_user))
    counties = policy.officer_county_ids(current_user)
    now = utcnow()
    per_page = current_app.config["WORK_LIST_PAGE_SIZE"]
    # Two lists, each paged on its own: ?page= (to answer) and ?answered= (answered).
    pending = queries.for_counties(db.session, counties, pending=True, per_page=per_page,
                                   number=paging.page_number(request.args))
    answered = queries.for_counties(db.session, counties, pending=False, per_page=per_page,
                                    number=paging.page_number(request.args, "answered"))
    return render_template("challenges/manage_index.html", pending=pending, answered=answered,
                           pending_url=lambda number: _list_url(page=number),
                           answered_url=lambda number: _list_url(answered=number),
                           overdue={c.id for c, *_ in pending.items if services.is_overdue(c, now)},
                           period_end=_period_end, **_labels())


def _list_url(**page) -> str:
    """The officer's list with one of its two page numbers changed."""
    args = {name: request.args[name] for name in ("page", "answered") if name in request.args}
    return url_for("challenges.manage_index", **{**args, **page})


@bp.route("/manage/challenges/<int:challenge_id>", methods=["GET", "POST"])
@login_required
def manage_show(challenge_id: int):
    challenge = queries.get(db.session, challenge_id)
    policy.require(policy.can_answer_challenge(current_user, challenge), hide=True)
    tender = db.session.get(Tender, challenge.tender_id)
    reply_form, reopen_form, cancel_form = forms.ReplyForm(), forms.ReopenForm(), forms.CancelForm()
    if request.method == "POST":
        action = request.form.get("action", "")
        facts = tenderfacts.facts_for(tender)
        if action == "reply":
            outcome = submit(reply_form, lambda: services.reply(
                db.session, challenge, officer=current_user, upheld=reply_form.verdict.data == "upheld",
                text=reply_form.text.data), success=_("答复已记录。"))
        elif action == "reopen":
            outcome = submit(reopen_form, lambda: evaluation_services.reopen(db.session, challenge, facts,
                                                                              officer=current_user),
                             success=_("已重新组织评审：请组建新的评审委员会。"), flash_errors=True)
        elif action == "cancel":
            outcome = submit(cancel_form, lambda: evaluation_services.cancel_tender(
                db.session, challenge, facts, reason=cancel_form.reason.data, officer=current_user),
                success=_("项目已终止。"))
        else:
            abort(400)
        if outcome or action == "reopen":
            return redirect(url_for("challenges.manage_show", challenge_id=challenge_id))
        # Shown again with the errors on their fields; a refused action was rolled back.
        db.session.expire_all()
        challenge = queries.get(db.session, challenge_id)
        tender = db.session.get(Tender, challenge.tender_id)
    return render_template("challenges/show.html", challenge=challenge, tender=tender, period_end=_period_end,
                           can_answer=True, manage=True, Status=ChallengeStatus, reply_form=reply_form,
                           reopen_form=reopen_form, cancel_form=cancel_form,
                           overdue=services.is_overdue(challenge, utcnow()), **_labels())
