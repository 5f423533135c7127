"""Contract pages. Officers: the contracts due (awards without a contract,
flagged before the limit), recording the signed contract, recording a
performance evaluation (also the purchasing township's officers). Public: the
contract notice with its file, the performance evaluations with their reports."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from procure import paging, policy
from procure.contracts import forms, queries, services
from procure.contracts.models import GRADE_LABELS, INDICATOR_LABELS
from procure.evaluation import tenderfacts
from procure.evaluation import queries as evaluation_queries
from procure.extensions import db
from procure.tenders.models import Tender
from procure.timeutil import utcnow
from procure.viewkit import found, submit

bp = Blueprint("contracts", __name__)

DEFAULT_INDICATORS = forms.DEFAULT_INDICATORS  # rows of the performance form
_MIMETYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".png": "image/png"}


def upload_root() -> Path:
    return Path(current_app.instance_path) / "uploads" / "contracts"


def _settings() -> services.ContractSettings:
    return services.ContractSettings.from_config(current_app.config)


def _send(path: Path, download_name: str):
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=_MIMETYPES.get(path.suffix, "application/octet-stream"), as_attachment=True,
                         download_name=download_name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# === officers =======================================================================


@bp.route("/manage/contracts")
@login_required
def due():
    policy.require(policy.can_view_officer_lists(current_user))
    settings, now = _settings(), utcnow()
    rows = queries.due(db.session, policy.officer_county_ids(current_user), number=paging.page_number(request.args),
                       per_page=current_app.config["WORK_LIST_PAGE_SIZE"])
    flags = {award.id: services.contract_flag(award, None, settings, now) for award, *_ in rows.items}
    deadlines = {award.id: services.signing_deadline(award, settings) for award, *_ in rows.items}
    return render_template("contracts/due.html", rows=rows, flags=flags, deadlines=deadlines,
                           page_url=lambda number: url_for("contracts.due", page=number))


@bp.route("/manage/tenders/<int:tender_id>/contract", methods=["GET", "POST"])
@login_required
def record(tender_id: int):
    tender = found(db.session.get(Tender, tender_id))
    policy.require(policy.can_manage_evaluation(current_user, tender.county_id), hide=True)
    award = evaluation_queries.current_award(db.session, tender.id)
    contract = queries.for_tender(db.session, tender.id)
    if contract is not None:
        return redirect(url_for("contracts.notice", tender_id=tender.id))
    if award is None:
        abort(404)
    settings = _settings()
    form = forms.ContractForm()
    if request.method == "GET":
        form.amount.data = str(award.amount)

    def record_contract():
        upload = form.file.data
        data = services.ContractData(
            number=form.number.data, amount=form.amount.data, signed_on=form.signed_on.data,
            starts_on=form.starts_on.data, ends_on=form.ends_on.data, recurring=form.recurring.data,
            filename=upload.filename or "", data=upload.read(),
        )
        return services.record(db.session, award, data, county_id=tender.county_id, officer=current_user,
                               settings=settings, upload_root=upload_root(),
                               max_bytes=current_app.config["CONTRACT_FILE_MAX_BYTES"])

    if submit(form, record_contract, success=_("合同已登记并公告。")):
        return redirect(url_for("contracts.notice", tender_id=tender.id))
    return render_template("contracts/record.html", tender=tender, award=award, form=form,
                           deadline=services.signing_deadline(award, settings),
                           flag=services.contract_flag(award, None, settings, utcnow()),
                           winner=tenderfacts.organization_name(db.session, award.organization_id))


@bp.route("/manage/tenders/<int:tender_id>/performance", methods=["GET", "POST"])
@login_required
def record_performance(tender_id: int):
    tender = found(db.session.get(Tender, tender_id))
    policy.require(policy.can_record_performance(current_user, tender), hide=True)
    contract = found(queries.for_tender(db.session, tender.id))
    form = forms.PerformanceForm()

    def record():
        indicators = [services.IndicatorData(kind=kind.data, name=name.data, maximum=maximum.data, score=score.data)
                      for kind, name, maximum, score in form.rows()]
        upload = form.report.data
        report = (upload.filename or "", upload.read()) if upload and upload.filename else None
        return services.record_performance(
            db.session, contract, indicators, summary=form.summary.data or "", report=report, officer=current_user,
            upload_root=upload_root(), max_bytes=current_app.config["CONTRACT_FILE_MAX_BYTES"])

    if submit(form, record, success=_("绩效评价已发布。"), aliases=form.aliases()):
        return redirect(url_for("contracts.performance", tender_id=tender.id))
    return render_template("contracts/record_performance.html", tender=tender, contract=contract, form=form,
                           indicator_labels=INDICATOR_LABELS)


# === public =========================================================================


@bp.route("/tenders/<int:tender_id>/contract")
def notice(tender_id: int):
    """合同公告."""
    tender = found(db.session.get(Tender, tender_id))
    contract = found(queries.for_tender(db.session, tender.id))
    return render_template("contracts/notice.html", tender=tender, contract=contract,
                           winner=tenderfacts.organization_name(db.session, contract.organization_id),
                           can_record=policy.can_record_performance(current_user, tender))


@bp.route("/tenders/<int:tender_id>/contract/file")
def contract_file(tender_id: int):
    contract = found(queries.for_tender(db.session, tender_id))
    return _send(upload_root() / str(contract.tender_id) / contract.stored_name, contract.filename)


@bp.route("/tenders/<int:tender_id>/performance")
def performance(tender_id: int):
    """The published performance evaluations (绩效评价) of the tender's contract."""
    tender = found(db.session.get(Tender, tender_id))
    contract = found(queries.for_tender(db.session, tender.id))
    evaluations = queries.performances(db.session, tender.id)
    if not evaluations:
        abort(404)
    return render_template("contracts/performance.html", tender=tender, contract=contract, evaluations=evaluations,
                           winner=tenderfacts.organization_name(db.session, contract.organization_id),
                           grade_labels=GRADE_LABELS, indicator_labels=INDICATOR_LABELS)


@bp.route("/tenders/<int:tender_id>/performance/<int:performance_id>/report")
def performance_report(tender_id: int, performance_id: int):
    item = found(queries.performance(db.session, tender_id, performance_id))
    if not item.report_stored_name:
        abort(404)
    return _send(upload_root() / str(item.tender_id) / item.report_stored_name, item.report_filename)
