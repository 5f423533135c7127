"""The bidding organization's pages: tenders it may bid for, its bid editor
(draft, attachments, submit, revise, withdraw, confirm), receipts. Only the
organization's members reach a bid (``policy.can_manage_bid``); everyone
else gets a 404, officers and admins included."""
from __future__ import annotations

import functools

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from procure import policy
from procure.bids import files, forms, services
from procure.bids.models import Bid, BidFile, BidStatus, BidVersion, VersionKind
from procure.errors import DomainError
from procure.extensions import db
from procure.organizations.models import Organization
from procure.tenders import queries as tender_queries
from procure.tenders.models import Tender, TenderStatus
from procure.timeutil import as_utc, localtime, utcnow
from procure.viewkit import act, found, submit

bp = Blueprint("bids", __name__, url_prefix="/bids")


def sealer() -> services.Sealer:
    return services.Sealer.from_config(current_app.config)


def archive_limits() -> files.ArchiveLimits:
    c = current_app.config
    return files.ArchiveLimits.from_config(c)


def _today():
    from procure.organizations.services import local_today

    return local_today(current_app.config["TIMEZONE"])


def _organization() -> Organization:
    membership = policy.org_membership(current_user)
    if membership is None:
        abort(404)
    return db.session.get(Organization, membership.organization_id)


def _own_bid(bid_id: int) -> Bid:
    bid = db.session.get(Bid, bid_id)
    if not policy.can_manage_bid(current_user, bid):
        abort(404)
    return bid


@bp.route("")
@login_required
def index():
    org = _organization()
    own = list(db.session.scalars(select(Bid).where(Bid.organization_id == org.id).order_by(Bid.id.desc())))
    tenders = {t.id: t for t in db.session.scalars(select(Tender).where(Tender.id.in_([b.tender_id for b in own])))}
    open_ = [t for t in tender_queries.open_tenders(db.session, tender_queries.OpenFilter())
             if services.may_bid(t, org, today=_today())[0]]
    eligible, reason = services.bid_eligibility(org, today=_today())
    return render_template("bids/index.html", organization=org, bids=own, tenders=tenders, open_tenders=open_,
                           eligible=eligible, reason=reason, now=utcnow(), remaining=tender_queries.remaining)


@functools.cache
def _tender_and_bid(*, light: bool):
    """The tender and the organization's bid (or None) in one statement, built
    once. ``light`` (a POST): without what only the page shows (loaded if the
    form comes back with an error); the bid's organization is the signed-in
    member's, already loaded with the user."""
    statement = (select(Tender, Bid)
                 .outerjoin(Bid, (Bid.tender_id == Tender.id) & (Bid.organization_id == bindparam("org_id")))
                 .where(Tender.id == bindparam("tender_id")))
    if light:
        statement = statement.options(lazyload(Tender.county), lazyload(Tender.township), lazyload(Tender.item),
                                      lazyload(Bid.organization))
    return statement


@bp.route("/tenders/<int:tender_id>", methods=["GET", "POST"])
@login_required
def edit(tender_id: int):
    org = _organization()
    found_ = db.session.execute(_tender_and_bid(light=request.method == "POST"),
                                {"tender_id": tender_id, "org_id": org.id}).one_or_none()
    tender, bid = found_ or (None, None)
    if tender is None or tender.status == TenderStatus.DRAFT:
        abort(404)
    if bid is None and not policy.is_org_member(current_user, org):
        abort(404)
    form = forms.BidForm()

    def save():
        nonlocal bid
        bid = bid or services.get_or_create(db.session, tender, org, today=_today())
        price = services.tender_services.parse_money(form.price.data, field_name="price")
        content = services.read_draft(bid, sealer())
        content.price, content.technical, content.team = price, form.technical.data or "", form.team.data or ""
        content.declarations = {k: bool(getattr(form, k).data) for k in services.DECLARATIONS}
        if form.submit.data:  # the draft saved and submitted in one pass
            return services.submit(db.session, bid, user=current_user, sealer=sealer(), content=content)
        services.save_draft(db.session, bid, content, sealer=sealer())
        return None

    def message(receipt):
        if receipt is not None:
            return _("投标已提交。回执摘要：%(d)s", d=receipt.digest)
        return _("草稿已保存（已加密保存）。")

    if submit(form, save, success=message, fallback="price"):
        return redirect(url_for("bids.edit", tender_id=tender_id))
    if request.method == "POST":
        db.session.expire_all()
        bid = db.session.scalar(select(Bid).where(Bid.tender_id == tender.id, Bid.organization_id == org.id))
    content = services.read_draft(bid, sealer()) if bid is not None else services.BidContent()
    if request.method == "GET":
        form.price.data = str(content.price) if content.price is not None else ""
        form.technical.data, form.team.data = content.technical, content.team
        for k in services.DECLARATIONS:
            getattr(form, k).data = bool(content.declarations.get(k))
    attachments = []
    if bid is not None:
        for file_id in content.file_ids:
            meta, _data = services.read_file(db.session, bid.id, file_id, sealer())
            attachments.append((file_id, meta))
    versions = list(db.session.scalars(select(BidVersion).where(BidVersion.bid_id == bid.id)
                                       .order_by(BidVersion.number))) if bid else []
    ok, reason = services.may_bid(tender, org, today=_today())
    return render_template("bids/edit.html", tender=tender, bid=bid, form=form, file_form=forms.FileForm(),
                           action_form=forms.ActionForm(), attachments=attachments, versions=versions,
                           may_bid=ok, reason=reason, now=utcnow(), remaining=tender_queries.remaining,
                           needs_confirmation=bid is not None and bid.status == BidStatus.SUBMITTED
                           and bid.confirmed_amendments < tender.amendment_count)


@bp.route("/<int:bid_id>/files", methods=["POST"])
@login_required
def upload(bid_id: int):
    bid = _own_bid(bid_id)
    form = forms.FileForm()
    limit = current_app.config["BID_ATTACHMENT_MAX_BYTES"]
    submit(form, lambda: services.add_file(
        db.session, bid, filename=form.file.data.filename, data=form.file.data.read(limit + 1), max_bytes=limit,
        max_count=current_app.config["BID_ATTACHMENT_MAX_COUNT"], limits=archive_limits(), sealer=sealer()),
        success=_("附件已加密保存。"), flash_errors=True)
    return redirect(url_for("bids.edit", tender_id=bid.tender_id))


@bp.route("/<int:bid_id>/files/<int:file_id>/remove", methods=["POST"])
@login_required
def remove_file(bid_id: int, file_id: int):
    bid = _own_bid(bid_id)
    submit(forms.ActionForm(), lambda: services.remove_file(db.session, bid, file_id, sealer=sealer()),
           flash_errors=True)
    return redirect(url_for("bids.edit", tender_id=bid.tender_id))


@bp.route("/<int:bid_id>/files/<int:file_id>")
@login_required
def download_file(bid_id: int, file_id: int):
    bid = _own_bid(bid_id)
    try:
        meta, data = services.read_file(db.session, bid.id, file_id, sealer())
    except DomainError:
        abort(404)
    response = Response(data, mimetype=meta["content_type"])
    # Never rendered inline.
    from urllib.parse import quote

    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(meta['name'])}"
    return response


def _bid_action(bid_id: int, action, message: str):
    bid = _own_bid(bid_id)
    submit(forms.ActionForm(), lambda: action(db.session, bid, user=current_user), success=message,
           flash_errors=True)
    return redirect(url_for("bids.edit", tender_id=bid.tender_id))


@bp.route("/<int:bid_id>/withdraw", methods=["POST"])
@login_required
def withdraw(bid_id: int):
    return _bid_action(bid_id, services.withdraw, _("投标已撤回。截止前可以重新提交。"))


@bp.route("/<int:bid_id>/confirm", methods=["POST"])
@login_required
def confirm(bid_id: int):
    return _bid_action(bid_id, services.confirm, _("已确认投标继续有效。"))


@bp.route("/<int:bid_id>/receipts/<int:number>")
@login_required
def receipt(bid_id: int, number: int):
    bid = _own_bid(bid_id)
    version = db.session.scalar(select(BidVersion).where(BidVersion.bid_id == bid.id, BidVersion.number == number,
                                                         BidVersion.kind == VersionKind.SUBMISSION))
    if version is None:
        abort(404)
    tender = db.session.get(Tender, bid.tender_id)
    text = "\n".join([
        _("投标回执"),
        f"{_('项目')}: {tender.public_number} {tender.title}",
        f"{_('投标人')}: {bid.organization.name} ({bid.organization.credit_code})",
        f"{_('版本')}: {version.number}",
        f"{_('提交时间（北京时间）')}: {localtime(version.submitted_at).strftime('%Y-%m-%d %H:%M:%S')}",
        f"{_('提交时间（UTC）')}: {as_utc(version.submitted_at).isoformat()}",
        f"SHA-256: {version.digest}",
        "",
    ])
    response = Response(text, mimetype="text/plain; charset=utf-8")
    response.headers["Content-Disposition"] = f"attachment; filename=receipt-{bid.id}-{version.number}.txt"
    return response
