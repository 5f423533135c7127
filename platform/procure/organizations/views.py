"""Organization pages.

Public: registration, the directory and the public page of verified (and
suspended) organizations — pending, needs-info and rejected applicants have no
public page (404), and the public never sees contacts or documents.
Members: the dashboard (status and reasons, edit and resubmit, documents,
members and invitations). Officers: the review queue of their county.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from sqlalchemy.exc import IntegrityError

from procure import policy
from procure.errors import DomainError
from procure.extensions import db
from procure.geo import queries as geo_queries
from procure.organizations import credit_codes, forms, queries, services
from procure.organizations.models import OrgStatus

bp = Blueprint("organizations", __name__)

DEFAULT_MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


def upload_settings() -> services.UploadSettings:
    return services.UploadSettings(
        root=Path(current_app.instance_path) / "uploads" / "organizations",
        max_bytes=int(current_app.config.get("ORG_DOCUMENT_MAX_BYTES", DEFAULT_MAX_DOCUMENT_BYTES)),
    )


def _apply_error(form, exc: DomainError, *, aliases: dict[str, str] | None = None) -> None:
    """Show a service's DomainError on its form field, or as a flash message."""
    name = (aliases or {}).get(exc.field, exc.field)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(str(exc.message))
    else:
        flash(str(exc.message), "danger")


def _county(form) -> object | None:
    return geo_queries.county_by_code(db.session, form.county.data or "")


def _code_info(raw: str | None):
    try:
        return credit_codes.validate(raw)
    except DomainError:
        return None


def _upload(field, kind: str) -> services.Upload | None:
    storage = field.data
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return services.Upload(kind=kind, filename=storage.filename, data=storage.read())


def _my_org():
    """The signed-in user's organization and membership, or 404."""
    membership = policy.org_membership(current_user)
    policy.require(membership is not None, hide=True)
    return membership.organization, membership


# === public =================================================================


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
            uploads = [certificate]
            other = _upload(form.other_document, "other")
            if other is not None:
                uploads.append(other)
            account = None
            if not existing_user:
                account = services.AccountData(
                    email=form.account_email.data, password=form.account_password.data, name=form.account_name.data
                )
            try:
                org, user = services.register(
                    db.session,
                    form.org_data(_county(form)),
                    account=account,
                    user=current_user._get_current_object() if existing_user else None,
                    uploads=uploads,
                    upload_settings=upload_settings(),
                )
            except services.DuplicateCode as exc:
                db.session.rollback()
                duplicate = exc.organization if exc.organization.is_public else None
                _apply_error(form, exc)
            except DomainError as exc:
                db.session.rollback()
                _apply_error(form, exc, aliases={"file": "certificate", "kind": "certificate"})
            except IntegrityError:
                # A concurrent registration took the same code or email first.
                db.session.rollback()
                flash(_("该统一社会信用代码或邮箱刚刚已被注册，请检查后重试。"), "danger")
            else:
                db.session.commit()
                if existing_user:
                    flash(_("机构注册申请已提交，等待所在区县审核。"), "success")
                    return redirect(url_for("organizations.mine"))
                login_user(user)
                flash(
                    _("机构注册申请已提交。我们已向 %(email)s 发送确认邮件，请先点击邮件中的链接确认邮箱。", email=user.email),
                    "success",
                )
                return redirect(url_for("accounts.unconfirmed"))
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


@bp.route("/organizations")
def directory():
    county = None
    code = request.args.get("county")
    if code:
        county = geo_queries.county_by_code(db.session, code) or abort(404)
    organizations = queries.public_list(db.session, county_id=county.id if county else None)
    return render_template("organizations/directory.html", organizations=organizations, county=county)


@bp.route("/organizations/<int:org_id>")
def public_page(org_id: int):
    org = queries.get(db.session, org_id)
    policy.require(policy.can_view_public_organization(org), hide=True)
    return render_template("organizations/public.html", org=org, code_info=credit_codes.decode(org.credit_code))


# === the organization's own pages ================================================


@bp.route("/organizations/mine")
@login_required
def mine():
    org, membership = _my_org()
    eligible, why_not = services.bid_eligibility(org)
    return render_template(
        "organizations/mine.html",
        org=org,
        membership=membership,
        is_admin=policy.can_manage_organization(current_user, org),
        eligible=eligible,
        why_not=why_not,
        code_info=credit_codes.decode(org.credit_code),
        document_form=forms.DocumentForm(),
        delete_form=forms.DeleteForm(),
        resubmit_form=forms.ResubmitForm(),
        max_bytes=upload_settings().max_bytes,
    )


@bp.route("/organizations/mine/edit", methods=["GET", "POST"])
@login_required
def edit():
    org, _membership = _my_org()
    policy.require(policy.can_manage_organization(current_user, org))
    form = forms.EditForm()
    form.set_county_choices(geo_queries.counties(db.session))
    if request.method == "GET":
        form.fill_from(org)
    duplicate = None
    if form.validate_on_submit():
        status_before = org.status
        try:
            changed = services.update(db.session, org, form.org_data(_county(form)), actor=current_user)
        except services.DuplicateCode as exc:
            db.session.rollback()
            duplicate = exc.organization if exc.organization.is_public else None
            _apply_error(form, exc)
        except DomainError as exc:
            db.session.rollback()
            _apply_error(form, exc)
        else:
            db.session.commit()
            if status_before == OrgStatus.VERIFIED and org.status == OrgStatus.PENDING:
                flash(_("已保存。机构名称、统一社会信用代码或类型发生变更，需要重新审核，审核通过前不能投标。"), "warning")
            elif status_before != org.status and org.status == OrgStatus.PENDING:
                flash(_("已保存并重新提交审核。"), "success")
            elif changed:
                flash(_("已保存。"), "success")
            else:
                flash(_("没有修改任何内容。"), "info")
            return redirect(url_for("organizations.mine"))
    return render_template(
        "organizations/edit.html", form=form, org=org, duplicate=duplicate, code_info=_code_info(form.credit_code.data)
    )


@bp.route("/organizations/mine/resubmit", methods=["POST"])
@login_required
def resubmit():
    org, _membership = _my_org()
    policy.require(policy.can_manage_organization(current_user, org))
    form = forms.ResubmitForm()
    if form.validate_on_submit():
        try:
            services.resubmit(db.session, org, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("已重新提交审核。"), "success")
    else:
        flash(_("请求无效，请刷新页面后重试。"), "danger")
    return redirect(url_for("organizations.mine"))


@bp.route("/organizations/mine/documents", methods=["POST"])
@login_required
def upload_document():
    org, _membership = _my_org()
    policy.require(policy.can_manage_organization(current_user, org))
    form = forms.DocumentForm()
    if form.validate_on_submit():
        upload = _upload(form.file, form.kind.data)
        if upload is None:
            flash(_("请选择要上传的文件。"), "danger")
        else:
            try:
                services.add_document(db.session, org, upload, uploaded_by=current_user, settings=upload_settings())
            except DomainError as exc:
                db.session.rollback()
                flash(str(exc.message), "danger")
            else:
                db.session.commit()
                flash(_("材料已上传。"), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
    return redirect(url_for("organizations.mine") + "#documents")


@bp.route("/organizations/mine/documents/<int:doc_id>/delete", methods=["POST"])
@login_required
def delete_document(doc_id: int):
    org, _membership = _my_org()
    policy.require(policy.can_manage_organization(current_user, org))
    doc = queries.document(db.session, doc_id)
    policy.require(doc is not None and doc.organization_id == org.id, hide=True)
    form = forms.DeleteForm()
    if form.validate_on_submit():
        try:
            services.delete_document(db.session, doc, settings=upload_settings())
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("材料已删除。"), "success")
    return redirect(url_for("organizations.mine") + "#documents")


@bp.route("/organizations/documents/<int:doc_id>")
@login_required
def download_document(doc_id: int):
    """Members, officers of the home county and admins; never the public."""
    doc = queries.document(db.session, doc_id)
    policy.require(doc is not None and policy.can_view_organization_private(current_user, doc.organization), hide=True)
    path = services.document_path(doc, upload_settings())
    if not path.exists():
        abort(404)
    response = send_file(
        path,
        mimetype=doc.content_type,
        as_attachment=doc.content_type == "application/pdf",
        download_name=doc.original_name,
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
    return render_template(
        "organizations/members.html",
        org=org,
        membership=membership,
        is_admin=is_admin,
        assignments=services.member_assignments(db.session, org),
        invitations=queries.open_invitations(db.session, org) if is_admin else [],
        invite_form=forms.InviteForm(),
        action_form=forms.MemberActionForm(),
    )


@bp.route("/organizations/mine/members/invite", methods=["POST"])
@login_required
def invite():
    org, _membership = _my_org()
    policy.require(policy.can_manage_organization(current_user, org))
    form = forms.InviteForm()
    if form.validate_on_submit():
        try:
            invitation, _token = services.invite(
                db.session, org, email=form.email.data, as_admin=form.as_admin.data, invited_by=current_user
            )
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("邀请已发送到 %(e)s。", e=invitation.email), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
    return redirect(url_for("organizations.members"))


@bp.route("/organizations/mine/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
def revoke_invitation(invitation_id: int):
    org, _membership = _my_org()
    policy.require(policy.can_manage_organization(current_user, org))
    invitation = queries.invitation(db.session, invitation_id)
    policy.require(invitation is not None and invitation.organization_id == org.id, hide=True)
    if forms.MemberActionForm().validate_on_submit():
        services.revoke_invitation(db.session, invitation)
        db.session.commit()
        flash(_("邀请已撤销。"), "success")
    return redirect(url_for("organizations.members"))


@bp.route("/organizations/mine/members/<int:assignment_id>/remove", methods=["POST"])
@login_required
def remove_member(assignment_id: int):
    org, _membership = _my_org()
    policy.require(policy.can_manage_organization(current_user, org))
    assignment = queries.member_assignment(db.session, assignment_id)
    policy.require(assignment is not None and assignment.organization_id == org.id, hide=True)
    if forms.MemberActionForm().validate_on_submit():
        removing_self = assignment.user_id == current_user.id
        try:
            services.remove_member(db.session, org, assignment, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("已移除该成员。"), "success")
            if removing_self:
                return redirect(url_for("site.home"))
    return redirect(url_for("organizations.members"))


@bp.route("/organizations/mine/members/<int:assignment_id>/role", methods=["POST"])
@login_required
def set_member_role(assignment_id: int):
    org, _membership = _my_org()
    policy.require(policy.can_manage_organization(current_user, org))
    assignment = queries.member_assignment(db.session, assignment_id)
    policy.require(assignment is not None and assignment.organization_id == org.id, hide=True)
    if forms.MemberActionForm().validate_on_submit():
        try:
            services.set_member_role(db.session, org, assignment, admin=request.form.get("admin") == "1")
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("已更新成员身份。"), "success")
    return redirect(url_for("organizations.members"))


@bp.route("/organizations/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    try:
        invitation = services.find_invitation(db.session, token)
    except DomainError as exc:
        db.session.rollback()
        return render_template("organizations/invitation_problem.html", message=exc.message), 400
    signed_in = current_user.is_authenticated
    form = forms.AcceptAsUserForm() if signed_in else forms.AcceptInvitationForm()
    account_exists = False
    if not signed_in:
        from procure.accounts import queries as account_queries

        account_exists = account_queries.by_email(db.session, invitation.email) is not None
    if form.validate_on_submit() and not account_exists:
        try:
            if signed_in:
                user = services.accept_invitation(db.session, token, user=current_user._get_current_object())
            else:
                user = services.accept_invitation(
                    db.session,
                    token,
                    account=services.AccountData(
                        email=invitation.email, password=form.password.data, name=form.name.data
                    ),
                )
        except DomainError as exc:
            db.session.rollback()
            if signed_in or exc.field not in ("password", "name"):
                return render_template("organizations/invitation_problem.html", message=exc.message), 400
            _apply_error(form, exc)
        else:
            db.session.commit()
            if not signed_in:
                login_user(user)
            flash(_("您已加入“%(name)s”。", name=invitation.organization.name), "success")
            return redirect(url_for("organizations.mine"))
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
def queue():
    policy.require(policy.can_view_review_queue(current_user))
    county_ids = None if policy.is_admin(current_user) else policy.officer_county_ids(current_user)
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in OrgStatus}:
        status = None
    organizations = queries.review_queue(db.session, county_ids, status=status)
    return render_template(
        "organizations/queue.html",
        organizations=organizations,
        status=status,
        counts=queries.status_counts(db.session, county_ids),
        statuses=list(OrgStatus),
    )


@bp.route("/manage/organizations/<int:org_id>")
@login_required
def review(org_id: int):
    org = _reviewable(org_id)
    return render_template(
        "organizations/review.html",
        org=org,
        can_decide=policy.can_review_organization(current_user, org),
        code_info=credit_codes.decode(org.credit_code),
        expected_prefixes=services.EXPECTED_PREFIXES.get(org.org_type, ()),
        members=services.member_assignments(db.session, org),
        decision_form=forms.DecisionForm(),
        suspend_form=forms.SuspendForm(),
        lift_form=forms.LiftForm(),
        eligibility=services.bid_eligibility(org),
    )


def _decide(org_id: int, action):
    org = _reviewable(org_id)
    policy.require(policy.can_review_organization(current_user, org))
    form = {"suspend": forms.SuspendForm, "lift": forms.LiftForm}.get(action.__name__, forms.DecisionForm)()
    if form.validate_on_submit():
        try:
            action(org, form)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("已记录决定，并已通知该机构。"), "success")
            return redirect(url_for("organizations.review", org_id=org.id))
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
    return redirect(url_for("organizations.review", org_id=org.id))


@bp.route("/manage/organizations/<int:org_id>/approve", methods=["POST"])
@login_required
def approve(org_id: int):
    def approve(org, form):
        services.approve(db.session, org, officer=current_user, note=form.reason.data or "")

    return _decide(org_id, approve)


@bp.route("/manage/organizations/<int:org_id>/reject", methods=["POST"])
@login_required
def reject(org_id: int):
    def reject(org, form):
        services.reject(db.session, org, officer=current_user, reason=form.reason.data or "")

    return _decide(org_id, reject)


@bp.route("/manage/organizations/<int:org_id>/request-info", methods=["POST"])
@login_required
def request_info(org_id: int):
    def request_info(org, form):
        services.request_info(db.session, org, officer=current_user, message=form.reason.data or "")

    return _decide(org_id, request_info)


@bp.route("/manage/organizations/<int:org_id>/suspend", methods=["POST"])
@login_required
def suspend(org_id: int):
    def suspend(org, form):
        services.suspend(db.session, org, officer=current_user, reason=form.reason.data or "", until=form.until.data,
                         today=services.local_today(current_app.config["TIMEZONE"]))

    return _decide(org_id, suspend)


@bp.route("/manage/organizations/<int:org_id>/lift", methods=["POST"])
@login_required
def lift(org_id: int):
    def lift(org, form):
        services.lift_suspension(db.session, org, officer=current_user, reason=form.reason.data or "")

    return _decide(org_id, lift)
