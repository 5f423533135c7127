"""Organization pages.

Public: registration, the directory and the public page of verified (and
suspended) organizations — pending, needs-info and rejected applicants have no
public page (404), and the public never sees contacts or documents.
Members: the dashboard (status and reasons, edit and resubmit, documents,
members and invitations). Officers: the review queue of their county.
"""
from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, send_file, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from flask_limiter import RequestLimit

from procure import caching, paging, policy
from procure.accounts import queries as account_queries
from procure.errors import DomainError
from procure.extensions import db, limiter
from procure.geo import queries as geo_queries
from procure.catalog import years
from procure.organizations import credit_codes, forms, identity, queries, services
from procure.organizations.models import ORG_TYPE_LABELS, PUBLIC_STATUSES, OrgStatus
from procure.private_pages import private_page
from procure.viewkit import act, flash_form_errors, found, show_error, submit

bp = Blueprint("organizations", __name__)


def _config_value(name: str):
    return lambda: current_app.config[name]


def upload_settings() -> services.UploadSettings:
    return services.UploadSettings(
        root=Path(current_app.instance_path) / "uploads" / "organizations",
        max_bytes=current_app.config["ORG_DOCUMENT_MAX_BYTES"],
    )


def _today():
    """Today in the configured time zone (suspension dates are local dates)."""
    return services.local_today(current_app.config["TIMEZONE"])


def _county(form) -> object | None:
    return geo_queries.county_by_code(db.session, form.county.data or "")


def _code_info(raw: str | None):
    """What the typed credit code says (region, kind), or None while it is invalid."""
    try:
        return credit_codes.validate(raw)
    except DomainError:
        return None


def _upload(field, kind: str) -> services.Upload | None:
    storage = field.data
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return services.Upload(kind=kind, filename=storage.filename, data=storage.read())


def _public_duplicate(error):
    """The organization that already has the credit code, when the public may see it."""
    if isinstance(error, services.DuplicateCode) and error.organization.is_public:
        return error.organization
    return None


def _my_org():
    """The signed-in user's organization and membership, or 404."""
    membership = policy.org_membership(current_user)
    policy.require(membership is not None, hide=True)
    return membership.organization, membership


def _my_managed_org():
    """The signed-in user's organization, if they administer it (404 / 403)."""
    org, _membership = _my_org()
    policy.require(policy.can_manage_organization(current_user, org))
    return org


def _undeliverable(org, users) -> dict:
    """Addresses of the organization the mail server refused, for who may see them."""
    from procure.alerts import queries as alert_queries

    if not policy.can_see_undeliverable(current_user, org):
        return {}
    return alert_queries.undeliverable_for_organization(db.session, org, users)


# === public =================================================================


def _identity_masked(org) -> str:
    """A natural person's identity number as its reviewers see it (masked)."""
    if not org.identity_encrypted:
        return ""
    return identity.masked(identity.IdentityKeys.from_config(current_app.config).decrypt(org.identity_encrypted))


def _tell_if_nobody_reviews(county) -> None:
    """The applicant's county has no reviewer yet: say so (the platform admin
    sees such counties on the officials page)."""
    if county is not None and account_queries.active_officer_count(db.session, county.id) == 0:
        flash(_("%(county)s目前还没有负责审核的工作人员：您的申请已保存，平台管理员会安排审核人员，"
                "审核可能需要更长时间。", county=county.name), "warning")


@bp.route("/organizations/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated and policy.org_membership(current_user) is not None:
        flash(_("您的账号已属于一个机构。"), "info")
        return redirect(url_for("organizations.mine"))
    policy.require(policy.can_register_organization(current_user))
    form = forms.RegisterForm()
    existing_user = current_user.is_authenticated
    if existing_user:
        form.drop_account_fields()
    form.set_county_choices(geo_queries.counties(db.session))
    duplicate = None
    if request.method == "GET":
        form.county.data = request.args.get("county", "")
    if form.validate_on_submit():
        certificate = _upload(form.certificate, "registration_certificate")
        if certificate is None:
            form.certificate.errors = [_("请上传登记证书或营业执照（PDF、JPG 或 PNG）。")]
        else:
            other = _upload(form.other_document, "other")
            account = None
            if not existing_user:
                account = services.AccountData(
                    email=form.account_email.data, password=form.account_password.data, name=form.account_name.data
                )
            done = act(
                lambda: services.register(
                    db.session,
                    form.org_data(_county(form)),
                    account=account,
                    user=current_user._get_current_object() if existing_user else None,
                    uploads=[certificate, *([other] if other is not None else [])],
                    upload_settings=upload_settings(),
                    keys=identity.IdentityKeys.from_config(current_app.config),
                    catalog_year=years.this_year(),
                ),
                form=form,
                aliases={"file": "certificate", "kind": "certificate"},
                # A concurrent registration took the same code or email first.
                conflict=_("该统一社会信用代码或邮箱刚刚已被注册，请检查后重试。"),
            )
            if done:
                _tell_if_nobody_reviews(_county(form))
            if done and existing_user:
                flash(_("机构注册申请已提交，等待所在区县审核。"), "success")
                return redirect(url_for("organizations.mine"))
            if done:
                # The same answer whether or not the address already had an
                # account (then the email says so, with sign-in and reset
                # links, and nothing was registered): the page never tells.
                _org, user = done.value
                flash(
                    _(
                        "我们已向 %(email)s 发送邮件，请按邮件中的说明继续：新账号需先点击邮件中的链接确认邮箱，"
                        "确认后注册申请才会进入审核，然后即可登录。",
                        email=user.email,
                    ),
                    "success",
                )
                return redirect(url_for("accounts.login"))
            duplicate = _public_duplicate(done.error)
    if request.method == "POST" and (form.errors or duplicate):
        flash(_("注册未提交：请更正下面标出的问题。"), "danger")
    return render_template(
        "organizations/register.html",
        form=form,
        code_info=_code_info(form.credit_code.data),
        duplicate=duplicate,
        existing_user=existing_user,
        max_bytes=upload_settings().max_bytes,
    )


DIRECTORY_PAGE_SIZE = 50
DIRECTORY_SEARCH_MAX = 100


@bp.route("/organizations")
@caching.cached_page(depends=("organizations",))
def directory():
    """The public directory: search (name or credit code), filters (county, type,
    verified state) and pages, all in SQL. A bad filter value is ignored with a message."""
    problems = []
    q = " ".join(request.args.get("q", "").split())[:DIRECTORY_SEARCH_MAX]
    county = None
    code = request.args.get("county", "").strip()
    if code:
        county = geo_queries.county_by_code(db.session, code[:12])
        if county is None:
            problems.append(_("没有代码为 %(code)s 的区县，已忽略该筛选条件。", code=code[:12]))
    org_type = request.args.get("type", "").strip()
    if org_type and org_type not in ORG_TYPE_LABELS:
        problems.append(_("未知的机构类型，已忽略该筛选条件。"))
        org_type = ""
    status = request.args.get("status", "").strip()
    if status and status not in {s.value for s in PUBLIC_STATUSES}:
        problems.append(_("未知的认证状态，已忽略该筛选条件。"))
        status = ""
    try:
        page_number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_number = 1
    flt = queries.DirectoryFilter(q=q, county_id=county.id if county else None, org_type=org_type, status=status)
    results = queries.directory_page(db.session, flt, page=page_number, per_page=DIRECTORY_PAGE_SIZE)
    args = {k: v for k, v in {"q": q, "county": county.code if county else "", "type": org_type,
                              "status": status}.items() if v}
    # Anonymous visitors: served from the caches while no organization changed
    # (procure.caching), ETag/304, a short public max-age.
    return render_template(
        "organizations/directory.html", organizations=results.items, total=results.total, page=results.page,
        pages=results.pages, county=county, flt=flt, problems=problems, counties=geo_queries.counties(db.session),
        type_labels=ORG_TYPE_LABELS, page_url=lambda n: url_for("organizations.directory", **args, page=n),
        filtering=bool(args),
    )


@bp.route("/organizations/<int:org_id>")
def public_page(org_id: int):
    org = queries.get(db.session, org_id)
    policy.require(policy.can_view_public_organization(org), hide=True)
    from procure.contracts import queries as contract_queries
    from procure.contracts.models import GRADE_LABELS

    return render_template("organizations/public.html", org=org,
                           code_info=credit_codes.decode(org.credit_code) if org.credit_code else None,
                           history=contract_queries.history(db.session, org.id), grade_labels=GRADE_LABELS)


# === the organization's own pages ================================================


@bp.route("/organizations/mine")
@login_required
def mine():
    org, membership = _my_org()
    eligible, why_not = services.bid_eligibility(org, today=_today())
    return render_template(
        "organizations/mine.html",
        org=org,
        membership=membership,
        is_admin=policy.can_manage_organization(current_user, org),
        eligible=eligible,
        why_not=why_not,
        code_info=credit_codes.decode(org.credit_code) if org.credit_code else None,
        document_form=forms.DocumentForm(),
        delete_form=forms.DeleteForm(),
        resubmit_form=forms.ResubmitForm(),
        max_bytes=upload_settings().max_bytes,
    )


def _edit_message(status_before: OrgStatus, org, changed: list[str]) -> tuple[str, str]:
    if status_before == OrgStatus.VERIFIED and org.status == OrgStatus.PENDING:
        return _(
            "已保存。变更了需要审核的内容（%(fields)s），需要所在区县重新审核，审核通过前不能投标。",
            fields=services.changed_fields_text([f for f in changed if f in services.REVIEW_FIELDS]),
        ), "warning"
    if status_before != org.status and org.status == OrgStatus.PENDING:
        return _("已保存并重新提交审核。"), "success"
    if changed:
        return _("已保存。"), "success"
    return _("没有修改任何内容。"), "info"


@bp.route("/organizations/mine/edit", methods=["GET", "POST"])
@login_required
def edit():
    org = _my_managed_org()
    form = forms.EditForm()
    form.set_county_choices(geo_queries.counties(db.session))
    if request.method == "GET":
        form.fill_from(org)
    status_before = org.status
    done = submit(form, lambda: services.update(db.session, org, form.org_data(_county(form)), actor=current_user))
    if done:
        flash(*_edit_message(status_before, org, done.value))
        return redirect(url_for("organizations.mine"))
    return render_template(
        "organizations/edit.html", form=form, org=org, duplicate=_public_duplicate(done.error),
        code_info=_code_info(form.credit_code.data),
    )


@bp.route("/organizations/mine/resubmit", methods=["POST"])
@login_required
def resubmit():
    org = _my_managed_org()
    if forms.ResubmitForm().validate_on_submit():
        act(lambda: services.resubmit(db.session, org, actor=current_user), success=_("已重新提交审核。"))
    else:
        flash(_("请求无效，请刷新页面后重试。"), "danger")
    return redirect(url_for("organizations.mine"))


@bp.route("/organizations/mine/documents", methods=["POST"])
@login_required
def upload_document():
    org = _my_managed_org()
    form = forms.DocumentForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    elif (upload := _upload(form.file, form.kind.data)) is None:
        flash(_("请选择要上传的文件。"), "danger")
    else:
        act(
            lambda: services.add_document(db.session, org, upload, uploaded_by=current_user, settings=upload_settings()),
            success=_("材料已上传。"),
        )
    return redirect(url_for("organizations.mine") + "#documents")


@bp.route("/organizations/mine/documents/<int:doc_id>/delete", methods=["POST"])
@login_required
def delete_document(doc_id: int):
    org = _my_managed_org()
    doc = queries.document(db.session, doc_id)
    policy.require(policy.belongs_to_organization(doc, org), hide=True)
    submit(
        forms.DeleteForm(),
        lambda: services.delete_document(db.session, doc, settings=upload_settings()),
        success=_("材料已删除。"),
        flash_errors=True,
    )
    return redirect(url_for("organizations.mine") + "#documents")


@bp.route("/organizations/documents/<int:doc_id>")
@login_required
def download_document(doc_id: int):
    """Members, officers of the home county and admins; never the public."""
    from procure.organizations.documents import download_name

    doc = queries.document(db.session, doc_id)
    policy.require(doc is not None and policy.can_view_organization_private(current_user, doc.organization), hide=True)
    path = services.document_path(doc, upload_settings())
    if not path.exists():
        abort(404)
    response = send_file(
        path,
        mimetype=doc.content_type,
        as_attachment=doc.content_type == "application/pdf",
        download_name=download_name(doc.original_name, doc.content_type),  # never the uploader's extension
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/organizations/mine/members")
@login_required
def members():
    org, membership = _my_org()
    is_admin = policy.can_manage_organization(current_user, org)
    assignments = services.member_assignments(db.session, org)
    return render_template(
        "organizations/members.html",
        org=org,
        membership=membership,
        is_admin=is_admin,
        assignments=assignments,
        undeliverable=_undeliverable(org, [a.user for a in assignments]),
        invitations=queries.open_invitations(db.session, org) if is_admin else [],
        invite_form=forms.InviteForm(),
        action_form=forms.MemberActionForm(),
    )


def _invite_org_key() -> str:
    membership = policy.org_membership(current_user)
    return f"invite-org:{membership.organization_id}" if membership is not None else ""


def _invite_account_key() -> str:
    return f"invite-user:{current_user.id}" if current_user.is_authenticated else ""


def _invitation_sent(_response) -> bool:
    return bool(g.get("invitation_sent"))


def _invites_limited(limit: RequestLimit):
    flash(_("发送邀请过于频繁，请稍后再试。"), "warning")
    return redirect(url_for("organizations.members"))


@bp.route("/organizations/mine/members/invite", methods=["POST"])
@login_required
@limiter.limit(_config_value("INVITE_LIMIT_PER_ORGANIZATION"), key_func=_invite_org_key, methods=["POST"],
               deduct_when=_invitation_sent, on_breach=_invites_limited)
@limiter.limit(_config_value("INVITE_LIMIT_PER_ACCOUNT"), key_func=_invite_account_key, methods=["POST"],
               deduct_when=_invitation_sent, on_breach=_invites_limited)
def invite():
    """Rate-limited per organization and per inviting account (each sent email counts)."""
    org = _my_managed_org()
    form = forms.InviteForm()
    done = submit(
        form,
        lambda: services.invite(
            db.session, org, email=form.email.data, as_admin=form.as_admin.data, invited_by=current_user,
            timezone=current_app.config["TIMEZONE"],
        ),
        flash_errors=True,
    )
    if done:
        invitation, token = done.value
        if token is None:
            flash(
                _(
                    "%(e)s 已有一份未接受的邀请，没有再次发送邮件（邀请链接的有效期已延长）。"
                    "如需重新发送，请先撤销该邀请再邀请。",
                    e=invitation.email,
                ),
                "info",
            )
        else:
            g.invitation_sent = True
            flash(_("邀请已发送到 %(e)s。", e=invitation.email), "success")
    return redirect(url_for("organizations.members"))


@bp.route("/organizations/mine/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
def revoke_invitation(invitation_id: int):
    org = _my_managed_org()
    invitation = queries.invitation(db.session, invitation_id)
    policy.require(policy.belongs_to_organization(invitation, org), hide=True)
    submit(
        forms.MemberActionForm(),
        lambda: services.revoke_invitation(db.session, invitation),
        success=_("邀请已撤销。"),
        flash_errors=True,
    )
    return redirect(url_for("organizations.members"))


@bp.route("/organizations/mine/members/<int:assignment_id>/remove", methods=["POST"])
@login_required
def remove_member(assignment_id: int):
    org = _my_managed_org()
    assignment = queries.member_assignment(db.session, assignment_id)
    policy.require(policy.belongs_to_organization(assignment, org), hide=True)
    removing_self = assignment.user_id == current_user.id
    if submit(
        forms.MemberActionForm(),
        lambda: services.remove_member(db.session, org, assignment, actor=current_user),
        success=_("已移除该成员。"),
        flash_errors=True,
    ) and removing_self:
        return redirect(url_for("site.home"))
    return redirect(url_for("organizations.members"))


@bp.route("/organizations/mine/members/<int:assignment_id>/role", methods=["POST"])
@login_required
def set_member_role(assignment_id: int):
    org = _my_managed_org()
    assignment = queries.member_assignment(db.session, assignment_id)
    policy.require(policy.belongs_to_organization(assignment, org), hide=True)
    submit(
        forms.MemberActionForm(),
        lambda: services.set_member_role(db.session, org, assignment, admin=request.form.get("admin") == "1"),
        success=_("已更新成员身份。"),
        flash_errors=True,
    )
    return redirect(url_for("organizations.members"))


def _invitation_problem(error):
    return render_template("organizations/invitation_problem.html", message=error.message), 400


@bp.route("/organizations/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    opened = act(lambda: services.find_invitation(db.session, token), show=False)
    if not opened:
        return _invitation_problem(opened.error)
    invitation = opened.value
    signed_in = current_user.is_authenticated
    form = forms.AcceptAsUserForm() if signed_in else forms.AcceptInvitationForm()
    account_exists = not signed_in and account_queries.by_email(db.session, invitation.email) is not None

    def accept():
        if signed_in:
            return services.accept_invitation(db.session, token, user=current_user._get_current_object())
        account = services.AccountData(email=invitation.email, password=form.password.data, name=form.name.data)
        return services.accept_invitation(db.session, token, account=account)

    if not account_exists:
        done = submit(form, accept, show=False)
        if done:
            if not signed_in:
                login_user(done.value)
            flash(_("您已加入“%(name)s”。", name=invitation.organization.name), "success")
            return redirect(url_for("organizations.mine"))
        if done.error is not None:
            if signed_in or done.error.field not in ("password", "name"):
                return _invitation_problem(done.error)
            show_error(form, done.error)
    return render_template(
        "organizations/accept_invitation.html",
        invitation=invitation,
        form=form,
        signed_in=signed_in,
        account_exists=account_exists,
    )


# === officers: the review queue ===================================================


def _reviewable(org_id: int):
    org = queries.get(db.session, org_id)
    policy.require(org is not None and policy.can_view_organization_private(current_user, org) and
                   policy.can_view_review_queue(current_user), hide=True)
    return org


@bp.route("/manage/organizations")
@login_required
@private_page()
def queue():
    policy.require(policy.can_view_review_queue(current_user))
    county_ids = policy.review_county_ids(current_user)
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in OrgStatus}:
        status = None
    # The counts per status, read with the site bar's in one statement.
    from procure.site.landing import navbar_counts

    found = navbar_counts(current_user, extra={f"status:{name}": statement for name, statement
                                                in queries.status_count_statements(county_ids).items()})
    counts = {name.removeprefix("status:"): n for name, n in found.items() if name.startswith("status:") and n}
    # One page of the list; its length is known from the counts (no count(*) of its own).
    total = counts.get(status, 0) if status else sum(counts.get(str(s), 0) for s in queries.REVIEW_STATUSES)
    per_page = current_app.config["WORK_LIST_PAGE_SIZE"]
    page = paging.Page(items=[], total=total, number=1, per_page=per_page)
    page.number = min(paging.page_number(request.args), page.pages)
    page.items = queries.review_queue(db.session, county_ids, status=status, limit=per_page,
                                      offset=(page.number - 1) * per_page)
    return render_template(
        "organizations/queue.html",
        organizations=page.items,
        page=page,
        page_url=lambda number: url_for("organizations.queue", status=status, page=number),
        status=status,
        counts=counts,
        statuses=list(OrgStatus),
    )


@bp.route("/manage/organizations/<int:org_id>")
@login_required
def review(org_id: int):
    org = _reviewable(org_id)
    members = services.member_assignments(db.session, org)
    return render_template(
        "organizations/review.html",
        org=org,
        can_decide=policy.can_review_organization(current_user, org),
        can_lift=policy.can_lift_suspension(current_user, org),
        can_release=policy.can_release_code(current_user, org),
        release_form=forms.ReleaseCodeForm(),
        code_info=credit_codes.decode(org.credit_code) if org.credit_code else None,
        expected_prefixes=services.EXPECTED_PREFIXES.get(org.org_type, ()),
        identity_masked=_identity_masked(org),
        members=members,
        undeliverable=_undeliverable(org, [a.user for a in members]),
        decision_form=forms.DecisionForm(),
        suspend_form=forms.SuspendForm(),
        lift_form=forms.LiftForm(),
        eligibility=services.bid_eligibility(org, today=_today()),
    )


def _decide(org_id: int, form_class, action, allowed=policy.can_review_organization):
    """An officer's decision on an application: ``allowed(user, org)`` says who
    may take it (policy), ``action(org, form)`` calls the service."""
    org = _reviewable(org_id)
    policy.require(allowed(current_user, org))
    form = form_class()
    submit(form, lambda: action(org, form), success=_("已记录决定，并已通知该机构。"), flash_errors=True)
    return redirect(url_for("organizations.review", org_id=org.id))


@bp.route("/manage/organizations/<int:org_id>/approve", methods=["POST"])
@login_required
def approve(org_id: int):
    return _decide(org_id, forms.DecisionForm, lambda org, form: services.approve(
        db.session, org, officer=current_user, note=form.reason.data or ""))


@bp.route("/manage/organizations/<int:org_id>/reject", methods=["POST"])
@login_required
def reject(org_id: int):
    return _decide(org_id, forms.DecisionForm, lambda org, form: services.reject(
        db.session, org, officer=current_user, reason=form.reason.data or ""))


@bp.route("/manage/organizations/<int:org_id>/request-info", methods=["POST"])
@login_required
def request_info(org_id: int):
    return _decide(org_id, forms.DecisionForm, lambda org, form: services.request_info(
        db.session, org, officer=current_user, message=form.reason.data or ""))


@bp.route("/manage/organizations/<int:org_id>/suspend", methods=["POST"])
@login_required
def suspend(org_id: int):
    return _decide(org_id, forms.SuspendForm, lambda org, form: services.suspend(
        db.session, org, officer=current_user, reason=form.reason.data or "", until=form.until.data, today=_today()))


@bp.route("/manage/organizations/<int:org_id>/lift", methods=["POST"])
@login_required
def lift(org_id: int):
    return _decide(org_id, forms.LiftForm, lambda org, form: services.lift_suspension(
        db.session, org, officer=current_user, reason=form.reason.data or ""), allowed=policy.can_lift_suspension)


# === officers: who holds a credit code ==============================================


@bp.route("/manage/credit-codes")
@login_required
def code_holder():
    """Look a credit code up: the registration holding it and any others stating
    it. Details only for the officers concerned (home county of the registration
    or county of the office that issued the code) and admins."""
    policy.require(policy.can_look_up_credit_codes(current_user))
    form = forms.CodeLookupForm(request.args)
    code = None
    registrations = []
    if form.code.data:
        try:
            code = credit_codes.validate(form.code.data).code
        except DomainError as exc:
            form.code.errors = [str(exc.message)]
        else:
            registrations = queries.code_registrations(db.session, code)
    visible = [org for org in registrations if policy.can_see_code_holder(current_user, org)]
    return render_template(
        "organizations/code_holder.html",
        form=form,
        code=code,
        registrations=visible,
        hidden_counties=sorted({org.county.name for org in registrations if org not in visible}),
        release_form=forms.ReleaseCodeForm(),
        can_release={org.id: policy.can_release_code(current_user, org) for org in visible},
    )


@bp.route("/manage/organizations/<int:org_id>/release-code", methods=["POST"])
@login_required
def release_code(org_id: int):
    org = queries.get(db.session, org_id)
    policy.require(
        org is not None and policy.can_look_up_credit_codes(current_user)
        and policy.can_see_code_holder(current_user, org),
        hide=True,
    )
    policy.require(policy.can_release_code(current_user, org))
    form = forms.ReleaseCodeForm()
    submit(
        form,
        lambda: services.release_code(db.session, org, officer=current_user, reason=form.reason.data or ""),
        success=_("已释放该代码，并已通知该注册的联系人。"),
        flash_errors=True,
    )
    return redirect(url_for("organizations.code_holder", code=org.credit_code))
