"""Evaluation pages. Evaluators: assigned evaluations, the declaration, the
qualification review (chair), their own score sheet, the report (chair).
Officers: the committee and the award. Committee and officers: the comparison.
Public: the result notice (or the failed notice). Bidders: their own result
(score, rank, any disqualification reason), their challenges."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from procure import paging, policy
from procure.errors import DomainError
from procure.evaluation import clocks, queries, services, tenderfacts
from procure.evaluation.models import EVALUATION_STATE_LABELS, EvaluationState, MemberKind
from procure.extensions import db
from procure.tenders.models import Tender, TenderStatus
from procure.viewkit import act

bp = Blueprint("evaluation", __name__)

MIN_COMMITTEE = 2


def _tender_or_404(tender_id: int) -> Tender:
    tender = db.session.get(Tender, tender_id)
    if tender is None:
        abort(404)
    return tender


def _member_page(evaluation_id: int):
    evaluation = queries.get(db.session, evaluation_id)
    member = policy.committee_membership(current_user, evaluation)
    policy.require(member is not None, hide=True)
    return evaluation, member


def _bidder_ids(bids) -> set[int]:
    return {b.organization_id for b in bids}


# === evaluators ===================================================================


@bp.route("/evaluations")
@login_required
def assigned():
    rows = queries.assigned_to(db.session, current_user.id, number=paging.page_number(request.args),
                               per_page=current_app.config["WORK_LIST_PAGE_SIZE"])
    return render_template("evaluation/assigned.html", rows=rows, labels=EVALUATION_STATE_LABELS,
                           page_url=lambda number: url_for("evaluation.assigned", page=number))


@bp.route("/evaluations/<int:evaluation_id>", methods=["GET", "POST"])
@login_required
def sheet(evaluation_id: int):
    evaluation, member = _member_page(evaluation_id)
    facts = tenderfacts.facts_for(evaluation.tender)
    bids = tenderfacts.opened_bids(db.session, evaluation.tender_id) if policy.can_see_bids_in_evaluation(member) else []
    quals = services.qualifications(db.session, evaluation) if bids else {}
    valid_ids = {b.bid_id for b in bids if b.bid_id in quals and quals[b.bid_id].passed}
    if request.method == "POST":
        action = request.form.get("action", "")
        if action in ("qualify", "finish_review", "report") and not member.is_chair:
            abort(403)

        def change():
            if action == "declare":
                conflict = request.form.get("conflict") == "yes"
                services.declare(db.session, member, conflict=conflict, note=request.form.get("note", ""),
                                 officers=_county_officers(facts.county_id), facts=facts)
            elif action == "qualify":
                for b in bids:
                    verdict = request.form.get(f"q-{b.bid_id}")
                    if verdict in ("pass", "fail"):
                        services.record_qualification(db.session, evaluation, b, passed=verdict == "pass",
                                                      reason=request.form.get(f"r-{b.bid_id}", ""), actor=current_user)
            elif action == "finish_review":
                services.finish_review(db.session, evaluation, facts, bids)
            elif action in ("save", "submit"):
                scores = {(b, c.key): request.form.get(f"s-{b}-{c.key}", "") for b in valid_ids for c in facts.criteria}
                services.save_scores(db.session, member, facts, valid_ids, scores)
                if action == "submit":
                    services.submit_sheet(db.session, member, facts, valid_ids)
            elif action == "report":
                services.submit_report(db.session, evaluation, member, facts, bids, text=request.form.get("text", ""))
            else:
                abort(400)

        act(change, success=_("已保存。"))
        return redirect(url_for("evaluation.sheet", evaluation_id=evaluation.id))
    mine = services.member_scores(db.session, evaluation).get(member.id, {}) if bids else {}
    return render_template(
        "evaluation/sheet.html", evaluation=evaluation, member=member, facts=facts, bids=bids, quals=quals,
        mine=mine, valid_ids=valid_ids, labels=EVALUATION_STATE_LABELS, State=EvaluationState,
        can_compare=policy.can_view_comparison(current_user, evaluation, facts.county_id),
    )


def _county_officers(county_id: int):
    from procure.tenders.services import county_officers

    return county_officers(db.session, county_id)


# === comparison ====================================================================


@bp.route("/evaluations/<int:evaluation_id>/comparison")
@login_required
def comparison(evaluation_id: int):
    evaluation = queries.get(db.session, evaluation_id)
    if evaluation is None:
        abort(404)
    facts = tenderfacts.facts_for(evaluation.tender)
    policy.require(policy.can_view_comparison(current_user, evaluation, facts.county_id), hide=True)
    bids = tenderfacts.opened_bids(db.session, evaluation.tender_id)
    ranked = {}
    if evaluation.state in (EvaluationState.SCORING, EvaluationState.REPORTED, EvaluationState.AWARDED):
        ranked = {r.key: r for r in services.rank(db.session, evaluation, facts, bids)} if (
            not facts.comprehensive or all(m.sheet_submitted_at for m in services.active_members(evaluation))
        ) else {}
    sheets = services.member_scores(db.session, evaluation)
    submitted = [m for m in services.active_members(evaluation) if m.sheet_submitted_at is not None]
    return render_template("evaluation/comparison.html", evaluation=evaluation, facts=facts, bids=bids,
                           ranked=ranked, sheets=sheets, members=submitted,
                           quals=services.qualifications(db.session, evaluation))


# === officers ======================================================================


@bp.route("/manage/tenders/<int:tender_id>/evaluation", methods=["GET", "POST"])
@login_required
def manage(tender_id: int):
    tender = _tender_or_404(tender_id)
    policy.require(policy.can_manage_evaluation(current_user, tender.county_id), hide=True)
    facts = tenderfacts.facts_for(tender)
    evaluation = queries.current_for_tender(db.session, tender.id)
    bids = tenderfacts.opened_bids(db.session, tender.id) if tender.status in tenderfacts.AFTER_OPENING else []
    if request.method == "POST":
        action = request.form.get("action", "")
        if action != "start" and evaluation is None:
            abort(400)

        def change():
            if action == "start":
                if tender.status != TenderStatus.OPENED:
                    raise DomainError(_("只有已开标的项目可以组织评审。"))
                services.start(db.session, facts, officer=current_user)
            elif action == "add_member":
                kind = MemberKind.PURCHASER if request.form.get("kind") == "purchaser" else MemberKind.EVALUATOR
                services.add_member(db.session, evaluation, email=request.form.get("email", ""),
                                    name=request.form.get("name", ""), kind=kind,
                                    chair=request.form.get("chair") == "yes", bidder_org_ids=_bidder_ids(bids),
                                    facts=facts, invited_by=current_user)
            elif action == "begin_review":
                services.begin_review(db.session, evaluation, min_members=MIN_COMMITTEE)
            elif action == "award":
                try:
                    bid_id = int(request.form.get("bid_id", ""))
                except ValueError:
                    raise DomainError(_("请选择成交供应商。")) from None
                services.award(db.session, evaluation, facts, bid_id=bid_id, reason=request.form.get("reason", ""),
                               officer=current_user, add_workdays=clocks.platform_calendar(db.session),
                               settings=services.ClockSettings.from_config(current_app.config))
            else:
                abort(400)

        act(change, success=_("已保存。"))
        return redirect(url_for("evaluation.manage", tender_id=tender.id))
    results = queries.results(db.session, evaluation.id) if evaluation else []
    award = queries.award_for(db.session, evaluation.id) if evaluation else None
    return render_template("evaluation/manage.html", tender=tender, facts=facts, evaluation=evaluation, bids=bids,
                           results=results, award=award, labels=EVALUATION_STATE_LABELS, State=EvaluationState)


# === public ========================================================================


@bp.route("/tenders/<int:tender_id>/result")
def result_notice(tender_id: int):
    """成交结果公告 (or 废标公告): public once the award (or the failure) is recorded."""
    tender = _tender_or_404(tender_id)
    evaluation = queries.current_for_tender(db.session, tender.id)
    if evaluation is None or evaluation.state not in (EvaluationState.AWARDED, EvaluationState.FAILED):
        abort(404)
    award = queries.award_for(db.session, evaluation.id)
    results = queries.results(db.session, evaluation.id) if award else []
    names = {b.bid_id: b.organization_name for b in tenderfacts.opened_bids(db.session, tender.id)}
    from procure.contracts import queries as contract_queries

    contract = contract_queries.for_tender(db.session, tender.id) if award else None
    return render_template("evaluation/result_notice.html", tender=tender, evaluation=evaluation, award=award,
                           results=results, names=names, State=EvaluationState, period_end=_period_end,
                           contract=contract)


def _period_end(instant) -> str:
    """A period ending at 24:00 of its last day, as shown (Beijing time)."""
    return f"{clocks.last_day(instant, current_app.config['TIMEZONE']).isoformat()} 24:00"


# === bidders =======================================================================


@bp.route("/tenders/<int:tender_id>/my-result")
@login_required
def my_result(tender_id: int):
    """The bidding organization's own result: the notice it received at the
    award (score, rank, disqualification reason), the deadlines, its challenges."""
    from procure.challenges import queries as challenge_queries
    from procure.challenges.models import STATUS_LABELS, SUBJECT_LABELS

    tender = _tender_or_404(tender_id)
    org_id = policy.organization_id_of(current_user)
    policy.require(org_id is not None, hide=True)
    award = queries.current_award(db.session, tender.id)
    notice = queries.notice_for(db.session, award.id, org_id) if award else None
    evaluation = queries.current_for_tender(db.session, tender.id)
    failed = evaluation is not None and evaluation.state == EvaluationState.FAILED
    own_bid = tenderfacts.has_opened_bid(db.session, tender.id, org_id)
    policy.require(own_bid, hide=True)
    return render_template(
        "evaluation/my_result.html", tender=tender, award=award, notice=notice, failed=failed,
        evaluation=evaluation, challenges=challenge_queries.of_organization(db.session, tender.id, org_id),
        subject_labels=SUBJECT_LABELS, status_labels=STATUS_LABELS, period_end=_period_end,
    )
