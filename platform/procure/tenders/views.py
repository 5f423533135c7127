"""Tender pages. Public: open tenders, the notice with amendments, Q&A,
documents, the opening record, failed and cancelled notices. Officers
(/manage/tenders): tenders by state with what is due, create, edit, publish,
amend, cancel, answer. No page here shows a bid, a price or how many bids a
tender has before its opening."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from procure import caching, paging, policy
from procure.bids import files
from procure.catalog.models import UndertakerType
from procure.errors import DomainError
from procure.extensions import db
from procure.geo import queries as geo_queries
from procure.organizations.documents import clean_original_name
from procure.tenders import forms, queries, services
from procure.tenders.models import (
    EVALUATION_LABELS,
    METHOD_LABELS,
    TENDER_STATUS_LABELS,
    Tender,
    TenderDocument,
    TenderStatus,
)
from procure.timeutil import as_utc, localtime, utcnow
from procure.viewkit import act, found, submit

bp = Blueprint("tenders", __name__)


def rules() -> services.Rules:
    return services.Rules.from_config(current_app.config)


def archive_limits() -> files.ArchiveLimits:
    c = current_app.config
    return files.ArchiveLimits.from_config(c)


def documents_root() -> Path:
    return Path(current_app.instance_path) / "uploads" / "tenders"


@bp.app_context_processor
def labels():
    from procure.catalog.forms import undertaker_labels

    return {"tender_status_labels": TENDER_STATUS_LABELS, "method_labels": METHOD_LABELS,
            "evaluation_labels": EVALUATION_LABELS, "undertaker_type_labels": undertaker_labels()}


def _today():
    from procure.organizations.services import local_today

    return local_today(current_app.config["TIMEZONE"])


def _to_utc(local: datetime | None) -> datetime | None:
    if local is None:
        return None
    return local.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"])).astimezone(ZoneInfo("UTC"))


def _to_local(value: datetime | None) -> datetime | None:
    local = localtime(value, current_app.config["TIMEZONE"])
    return local.replace(tzinfo=None) if local else None


# === public =======================================================================


@bp.route("/tenders")
@caching.cached_page(depends=("tenders",), per_minute=True)  # countdowns: a new page each minute
def index():
    args = request.args
    flt = queries.OpenFilter(county=args.get("county", "")[:12], township=args.get("township", "")[:12],
                             method=args.get("method", "") if args.get("method") in METHOD_LABELS else "",
                             category=args.get("category", "")[:16])
    for name in ("budget_min", "budget_max"):
        raw = args.get(name, "").strip()
        if raw:
            try:
                setattr(flt, name, services.parse_money(raw, field_name=name))
            except DomainError:
                abort(400)
    now = utcnow()
    tenders = queries.open_tenders(db.session, flt)
    return render_template("tenders/index.html", tenders=tenders, flt=flt, now=now, remaining=queries.remaining,
                           counties=geo_queries.counties(db.session))


@bp.route("/tenders/<int:tender_id>")
def notice(tender_id: int):
    tender = queries.public_tender(db.session, tender_id)
    policy.require(policy.can_view_public_tender(tender), hide=True)
    record = queries.opening_record(db.session, tender) if policy.can_view_opening_record(tender) else None
    organization = None
    membership = policy.org_membership(current_user)
    if membership is not None:
        from procure.organizations.models import Organization

        organization = db.session.get(Organization, membership.organization_id)
    can_ask = (tender.status == TenderStatus.TENDERING and tender.enquiry_deadline is not None
               and utcnow() < as_utc(tender.enquiry_deadline) and policy.can_ask_question(current_user, organization, today=_today()))
    return render_template("tenders/notice.html", tender=tender, record=record, now=utcnow(),
                           remaining=queries.remaining, question_form=forms.QuestionForm() if can_ask else None,
                           organization=organization)


@bp.route("/tenders/<int:tender_id>/documents/<int:doc_id>")
def document(tender_id: int, doc_id: int):
    doc = found(queries.document(db.session, tender_id, doc_id))
    tender = doc.tender
    if not (policy.can_view_public_tender(tender) or policy.can_manage_tender(current_user, tender)):
        abort(404)
    path = documents_root() / str(tender.id) / doc.stored_name
    if not path.is_file():
        abort(404)
    # Always a download, never rendered inline.
    return send_file(path, mimetype=doc.content_type, as_attachment=True, download_name=doc.filename)


@bp.route("/tenders/<int:tender_id>/questions", methods=["POST"])
@login_required
def ask(tender_id: int):
    tender = found(db.session.get(Tender, tender_id))
    policy.require(policy.can_view_public_tender(tender), hide=True)
    membership = policy.org_membership(current_user)
    from procure.organizations.models import Organization

    organization = db.session.get(Organization, membership.organization_id) if membership else None
    policy.require(policy.can_ask_question(current_user, organization, today=_today()))
    form = forms.QuestionForm()
    submit(form, lambda: services.ask(db.session, tender, organization=organization, user=current_user,
                                      text=form.text.data, now=utcnow(), rules=rules()),
           success=_("问题已提交，采购人将在法定期限内答复。"), flash_errors=True)
    return redirect(url_for("tenders.notice", tender_id=tender_id) + "#questions")


# === officers ======================================================================


@bp.route("/manage/tenders")
@login_required
def manage_index():
    county_ids, township_ids = policy.officer_county_ids(current_user), policy.township_ids(current_user)
    policy.require(bool(county_ids or township_ids))
    page = queries.managed_tenders(db.session, county_ids, township_ids, number=paging.page_number(request.args),
                                   per_page=current_app.config["WORK_LIST_PAGE_SIZE"])
    due = queries.unanswered_counts(db.session, [t.id for t in page.items])
    text = request.args.get("q", "").strip()[:100]  # control characters are refused before any view
    items, item_total = queries.items_for_tender(db.session, county_ids | policy.township_county_ids(current_user),
                                                 text=text)
    return render_template("tenders/manage_index.html", tenders=page.items, page=page, due=due, now=utcnow(),
                           items=items, item_total=item_total, q=text,
                           page_url=lambda number: url_for("tenders.manage_index", page=number, q=text or None))


def _township_choices(county_id: int) -> list[tuple[int, str]]:
    from procure.geo.models import Division

    county = db.session.get(Division, county_id)
    townships = geo_queries.townships_of(db.session, county)
    from wtforms.fields.choices import SelectChoice

    return [SelectChoice(t.id, t.name) for t in townships if policy.can_draft_tender(current_user, t)]


def _fill_choices(form: forms.TenderForm, item) -> None:
    form.township_id.choices = _township_choices(item.catalog.county_id)
    from procure.catalog.forms import undertaker_labels

    names = undertaker_labels()
    from wtforms.fields.choices import SelectChoice

    form.undertaker_types.choices = [SelectChoice(t, names.get(t, t)) for t in item.undertaker_types]


def _parse_criteria(text: str) -> list[dict]:
    criteria = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        name, sep, weight = line.replace("，", ",").rpartition(",")
        if not sep or not weight.strip().isdigit():
            raise DomainError(_("第 %(n)d 行：请按“名称,权重”填写，权重为整数。", n=number), field="criteria")
        criteria.append({"name": name.strip(), "weight": int(weight.strip())})
    return criteria


def _form_data(form: forms.TenderForm) -> services.TenderData:
    return services.TenderData(
        township_id=form.township_id.data, title=form.title.data, description=form.description.data or "",
        budget=services.parse_money(form.budget.data, field_name="budget"),
        max_price=services.parse_money(form.max_price.data, field_name="max_price"),
        service_start=form.service_start.data, service_end=form.service_end.data,
        service_place=form.service_place.data or "", method=form.method.data,
        undertaker_types=list(form.undertaker_types.data or []), mass_org_first=bool(form.mass_org_first.data),
        min_bids=form.min_bids.data, enquiry_deadline=_to_utc(form.enquiry_deadline.data),
        bid_deadline=_to_utc(form.bid_deadline.data), evaluation_method=form.evaluation_method.data,
        criteria=_parse_criteria(form.criteria.data), price_weight=form.price_weight.data,
    )


@bp.route("/manage/tenders/new/<int:item_id>", methods=["GET", "POST"])
@login_required
def manage_new(item_id: int):
    from procure.catalog import queries as catalog_queries

    item = found(catalog_queries.get_item(db.session, item_id))
    county_id = item.catalog.county_id
    allowed = county_id in policy.officer_county_ids(current_user) or county_id in policy.township_county_ids(current_user)
    policy.require(allowed, hide=True)
    current = catalog_queries.current_published(db.session, county_id)
    if current is None or current.id != item.catalog_id:
        abort(404)  # the catalog gate
    form = forms.TenderForm()
    _fill_choices(form, item)
    if request.method == "GET":
        form.title.data = item.name
        form.description.data = item.service_content
        form.undertaker_types.data = list(item.undertaker_types)
        form.mass_org_first.data = item.mass_org_first
    done = submit(form, lambda: services.create_draft(db.session, item, _form_data(form), actor=current_user,
                                                      rules=rules()), success=_("草稿已保存。"))
    if done:
        return redirect(url_for("tenders.manage_tender", tender_id=done.value.id))
    return render_template("tenders/manage_form.html", form=form, item=item, tender=None)


def _managed(tender_id: int) -> Tender:
    tender = db.session.get(Tender, tender_id)
    if tender is None or not policy.can_manage_tender(current_user, tender):
        abort(404)
    return tender


@bp.route("/manage/tenders/<int:tender_id>/edit", methods=["GET", "POST"])
@login_required
def manage_edit(tender_id: int):
    tender = _managed(tender_id)
    if tender.status != TenderStatus.DRAFT:
        abort(404)
    form = forms.TenderForm(obj=tender) if request.method == "GET" else forms.TenderForm()
    _fill_choices(form, tender.item)
    if request.method == "GET":
        form.enquiry_deadline.data = _to_local(tender.enquiry_deadline)
        form.bid_deadline.data = _to_local(tender.bid_deadline)
        form.criteria.data = "\n".join(f"{c['name']},{c['weight']}" for c in tender.criteria or [])
        form.budget.data = str(tender.budget) if tender.budget is not None else ""
        form.max_price.data = str(tender.max_price) if tender.max_price is not None else ""
    if submit(form, lambda: services.update_draft(db.session, tender, _form_data(form), rules=rules()),
              success=_("草稿已保存。")):
        return redirect(url_for("tenders.manage_tender", tender_id=tender.id))
    return render_template("tenders/manage_form.html", form=form, item=tender.item, tender=tender)


@bp.route("/manage/tenders/<int:tender_id>")
@login_required
def manage_tender(tender_id: int):
    tender = _managed(tender_id)
    tender = queries.public_tender(db.session, tender.id)
    violations = (services.check_publishable(db.session, tender, utcnow(), rules())
                  if tender.status == TenderStatus.DRAFT else [])
    return render_template("tenders/manage_tender.html", tender=tender, violations=violations,
                           publish_form=forms.PublishForm(), document_form=forms.DocumentForm(),
                           amend_form=forms.AmendForm(), cancel_form=forms.CancelForm(),
                           answer_form=forms.AnswerForm(), now=utcnow(), remaining=queries.remaining,
                           can_publish=policy.can_publish_tender(current_user, tender))


@bp.route("/manage/tenders/<int:tender_id>/publish", methods=["POST"])
@login_required
def manage_publish(tender_id: int):
    tender = _managed(tender_id)
    policy.require(policy.can_publish_tender(current_user, tender))
    form = forms.PublishForm()

    def publish():
        try:
            return services.publish(db.session, tender, actor=current_user, now=utcnow(), rules=rules())
        except services.PublishRefused as exc:
            for violation in exc.violations[1:]:  # the first is flashed by act
                flash(str(violation.message), "danger")
            raise

    submit(form, publish, success=lambda t: _("采购公告已发布，项目编号 %(n)s。", n=t.public_number),
           flash_errors=True)
    return redirect(url_for("tenders.manage_tender", tender_id=tender_id))


@bp.route("/manage/tenders/<int:tender_id>/documents", methods=["POST"])
@login_required
def manage_upload(tender_id: int):
    tender = _managed(tender_id)
    form = forms.DocumentForm()
    if tender.status not in (TenderStatus.DRAFT, TenderStatus.TENDERING):
        abort(404)
    if tender.status != TenderStatus.DRAFT:
        policy.require(policy.can_publish_tender(current_user, tender))
    submit(form, lambda: _store_document(tender, form.file.data), success=_("文件已上传。"), flash_errors=True)
    return redirect(url_for("tenders.manage_tender", tender_id=tender_id))


def _store_document(tender: Tender, upload) -> TenderDocument:
    import secrets

    limit = current_app.config["TENDER_DOCUMENT_MAX_BYTES"]
    data = upload.read(limit + 1)
    checked = files.check(data, max_bytes=limit, limits=archive_limits())
    folder = documents_root() / str(tender.id)
    folder.mkdir(parents=True, exist_ok=True)
    stored = secrets.token_hex(16) + checked.extension
    (folder / stored).write_bytes(data)
    doc = TenderDocument(tender_id=tender.id, filename=clean_original_name(upload.filename),
                         content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
                         stored_name=stored)
    db.session.add(doc)
    db.session.flush()
    return doc


@bp.route("/manage/tenders/<int:tender_id>/amend", methods=["POST"])
@login_required
def manage_amend(tender_id: int):
    tender = _managed(tender_id)
    policy.require(policy.can_publish_tender(current_user, tender))
    form = forms.AmendForm()

    def amend():
        changes = {}
        if form.description.data and form.description.data.strip() != tender.description:
            changes["description"] = form.description.data.strip()
        if form.service_place.data and form.service_place.data.strip() != tender.service_place:
            changes["service_place"] = form.service_place.data.strip()
        if form.max_price.data:
            changes["max_price"] = services.parse_money(form.max_price.data, field_name="max_price")
        for name in ("enquiry_deadline", "bid_deadline"):
            value = _to_utc(getattr(form, name).data)
            if value is not None:
                changes[name] = value
        return services.amend(db.session, tender, changes, summary=form.summary.data, actor=current_user,
                              now=utcnow(), rules=rules())

    submit(form, amend, success=_("更正公告已发布。"), flash_errors=True)
    return redirect(url_for("tenders.manage_tender", tender_id=tender_id))


@bp.route("/manage/tenders/<int:tender_id>/cancel", methods=["POST"])
@login_required
def manage_cancel(tender_id: int):
    tender = _managed(tender_id)
    policy.require(policy.can_publish_tender(current_user, tender))
    form = forms.CancelForm()
    submit(form, lambda: services.cancel(db.session, tender, reason=form.reason.data, actor=current_user,
                                         now=utcnow()), success=_("终止公告已发布。"), flash_errors=True)
    return redirect(url_for("tenders.manage_tender", tender_id=tender_id))


@bp.route("/manage/tenders/<int:tender_id>/questions/<int:question_id>/answer", methods=["POST"])
@login_required
def manage_answer(tender_id: int, question_id: int):
    tender = _managed(tender_id)
    policy.require(policy.can_publish_tender(current_user, tender))
    question = found(queries.question(db.session, tender_id, question_id))
    form = forms.AnswerForm()
    submit(form, lambda: services.answer(db.session, question, actor=current_user, text=form.text.data, now=utcnow()),
           success=_("回答已公开发布。"), flash_errors=True)
    return redirect(url_for("tenders.manage_tender", tender_id=tender_id) + "#questions")
