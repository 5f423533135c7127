"""State changes of organizations: registration, edits, review decisions,
suspension, documents, memberships and invitations.

Every function takes the SQLAlchemy session explicitly, flushes but never
commits, and raises ``DomainError`` (with ``field`` for form errors) when the
rules refuse. Permission checks are the views' business (``procure.policy``);
the services check the state machine:

    pending ──approve──► verified ──suspend──► suspended ──lift──► verified
       │  ╲──reject──► rejected ──(edit + resubmit)──► pending
       ╰──request info──► needs_info ──(edit + resubmit)──► pending
    verified ──(a field of REVIEW_FIELDS changed, e.g. the home county)──► pending

A registration made together with a new account holds its credit code only
once that account's email is confirmed (``confirm_registration``); until then
it is "unconfirmed" and purged after a while (``purge_unconfirmed_registrations``),
so whoever types someone else's code cannot lock the real organization out. An
officer can see who holds a code and release it (``release_code``).

Separation of duties: nobody holding an official role (county or township
officer, evaluator, platform admin) is a member of an organization, and every
ended membership is kept (``FormerMembership``) so that ``procure.policy`` can
refuse decisions by anyone who is or was a member of the organization.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from procure.accounts.models import OFFICIAL_ROLES, ORG_ROLES, Role, RoleAssignment, User
from procure.errors import DomainError
from procure.geo.models import Division, DivisionLevel
from procure.catalog import queries as catalog_queries
from procure.organizations import credit_codes, documents, identity, queries
from procure.organizations.models import (
    NOT_ELIGIBLE_TYPES,
    UNDERTAKER_TYPE,
    DecisionKind,
    DocumentKind,
    FormerMembership,
    Invitation,
    Organization,
    OrganizationDecision,
    OrganizationDocument,
    OrgStatus,
    OrgType,
)
from procure.timeutil import as_utc, utcnow

DASHBOARD_PATH = "/organizations/mine"
INVITATION_PURPOSE = "org-invitation"
DEFAULT_INVITATION_TTL = timedelta(days=7)
# The signature's own age limit; the invitation row's expires_at is the real one.
MAX_INVITATION_TTL = timedelta(days=30)
MAX_REASON = 2000

# Which credit-code prefixes (authority + kind, GB 32100-2015) fit each type. A
# code outside these is not refused: it raises the "code mismatch" flag for the
# reviewing officer. Village/residents' committees are coded by civil affairs
# outside the three social-organization kinds, or under Y (其他).
EXPECTED_PREFIXES: dict[OrgType, tuple[str, ...]] = {
    OrgType.ENTERPRISE: ("91", "93"),
    OrgType.SOCIAL_GROUP: ("51",),
    OrgType.SOCIAL_SERVICE_AGENCY: ("52",),
    OrgType.FOUNDATION: ("53",),
    OrgType.PUBLIC_INSTITUTION_CLASS2: ("12",),
    OrgType.BUSINESS_PUBLIC_INSTITUTION: ("12",),
    OrgType.RURAL_COLLECTIVE: ("N1", "N2", "N3", "N9"),
    OrgType.VILLAGE_COMMITTEE: ("54", "55", "59", "Y1"),
    OrgType.INDIVIDUAL: ("92",),
    OrgType.PUBLIC_INSTITUTION_CLASS1: ("12",),
    OrgType.MASS_ORG_ORGAN: ("11", "13", "19", "81", "89"),
}

# Chinese phone numbers: mobile 1[3-9]xxxxxxxxx (optionally +86), or landline
# 0 + area code (2–3 digits) + 7–8 digit number, optional extension.
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_LANDLINE = re.compile(r"^(0\d{2,3})(\d{7,8})(?:(?:转|ext|x|#)(\d{1,6}))?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# === data and validation ======================================================


@dataclass
class OrgData:
    """What an applicant states about the organization."""

    name: str
    credit_code: str
    org_type: str
    county: Division | None
    address: str
    legal_representative: str
    contact_person: str
    phone: str
    email: str
    budget_funded: bool = False
    mass_org_affiliate: bool = False
    declares_independent_liability: bool = False
    declares_sound_accounts: bool = False
    declares_tax_social_insurance: bool = False
    declares_no_major_violation: bool = False
    id_number: str = ""  # natural persons only: the resident identity number (居民身份证号码)

    @property
    def all_declarations(self) -> bool:
        return all(
            (
                self.declares_independent_liability,
                self.declares_sound_accounts,
                self.declares_tax_social_insurance,
                self.declares_no_major_violation,
            )
        )


@dataclass
class AccountData:
    """The first user of a new organization (becomes its administrator)."""

    email: str
    password: str
    name: str = ""


@dataclass
class Upload:
    kind: str
    filename: str
    data: bytes


@dataclass
class UploadSettings:
    root: Path  # instance/uploads/organizations
    max_bytes: int


class DuplicateCode(DomainError):
    """The code is already registered; ``organization`` is the holder."""

    def __init__(self, message, organization: Organization):
        super().__init__(message, field="credit_code")
        self.organization = organization


def normalize_phone(raw: str | None) -> str:
    """A Chinese mobile or landline number, normalised; DomainError otherwise."""
    text = re.sub(r"[\s\-()（）]", "", (raw or "").replace("－", "-")).lower()
    if not text:
        raise DomainError(_l("请输入联系电话。"), field="phone")
    mobile = _MOBILE.match(text)
    if mobile:
        return mobile.group(1)
    landline = _LANDLINE.match(text)
    if landline:
        area, number, ext = landline.groups()
        return f"{area}-{number}" + (f"-{ext}" if ext else "")
    raise DomainError(
        _l("联系电话格式不正确：请填写 11 位手机号（如 13812345678）或带区号的固定电话（如 0539-3221234）。"),
        field="phone",
    )


def normalize_email(raw: str | None, *, field_name: str = "email") -> str:
    text = (raw or "").strip().lower()
    if not text:
        raise DomainError(_l("请输入邮箱。"), field=field_name)
    if len(text) > 254 or not _EMAIL.match(text):
        raise DomainError(_l("邮箱格式不正确。"), field=field_name)
    return text


def _required(value: str | None, field_name: str, message, max_length: int) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise DomainError(message, field=field_name)
    if len(text) > max_length:
        raise DomainError(_l("内容太长：最多 %(n)d 个字符。", n=max_length), field=field_name)
    return text


@dataclass
class _Clean:
    values: dict = field(default_factory=dict)
    code: credit_codes.CodeInfo | None = None


def _clean(session: Session, data: OrgData, *, exclude_id: int | None = None,
           keys: identity.IdentityKeys | None = None, catalog_year: int | None = None) -> _Clean:
    """Validate ``data``; return the normalised column values.

    A natural person (自然人) has no credit code: at registration (``keys``
    given) its resident identity number is validated, checked to be new and
    stored encrypted; ``catalog_year``: the county's catalog of that year must
    list natural persons among the eligible undertakers of some item."""
    try:
        org_type = OrgType(data.org_type)
    except ValueError:
        raise DomainError(_l("请选择机构类型。"), field="org_type") from None
    if data.county is None or data.county.level != DivisionLevel.COUNTY:
        raise DomainError(_l("请选择机构所在的区县。"), field="county")
    identity_values: dict = {}
    if org_type == OrgType.NATURAL_PERSON:
        code = None
        if catalog_year is not None and not catalog_queries.allows_undertaker(
                session, data.county.id, catalog_year, UNDERTAKER_TYPE[OrgType.NATURAL_PERSON.value]):
            raise DomainError(_l("%(county)s的指导性目录没有允许自然人承接的服务事项，自然人不能在该区县注册。",
                                 county=data.county.name), field="org_type")
        if keys is not None:
            number = identity.validate(data.id_number)
            digest = keys.digest(number)
            taken = select(Organization.id).where(Organization.identity_digest == digest)
            if exclude_id is not None:
                taken = taken.where(Organization.id != exclude_id)
            if session.scalar(taken) is not None:
                raise DomainError(_l("该居民身份证号码已经注册过，不能重复注册。"), field="id_number")
            identity_values = {"identity_encrypted": keys.encrypt(number), "identity_digest": digest}
        credit_code = ""
    else:
        code = credit_codes.validate(data.credit_code)
        check_code_available(session, code.code, exclude_id=exclude_id)
        credit_code = code.code
    if not data.all_declarations:
        raise DomainError(_l("请逐项确认四项供应商基本条件声明，全部确认后才能提交。"), field="declarations")
    values = {
        "name": _required(data.name, "name", _l("请输入机构名称。"), 200),
        "credit_code": credit_code,
        "org_type": org_type,
        "county_id": data.county.id,
        "address": _required(data.address, "address", _l("请输入地址。"), 300),
        "legal_representative": _required(
            data.legal_representative, "legal_representative", _l("请输入法定代表人（负责人）。"), 100
        ),
        "contact_person": _required(data.contact_person, "contact_person", _l("请输入联系人。"), 100),
        "phone": normalize_phone(data.phone),
        "email": normalize_email(data.email),
        "budget_funded": bool(data.budget_funded),
        "mass_org_affiliate": bool(data.mass_org_affiliate),
        "declares_independent_liability": True,
        "declares_sound_accounts": True,
        "declares_tax_social_insurance": True,
        "declares_no_major_violation": True,
        **identity_values,
    }
    return _Clean(values=values, code=code)


def check_code_available(session: Session, code: str, *, exclude_id: int | None = None) -> None:
    existing = code_holder(session, code, exclude_id=exclude_id)
    if existing is None:
        return
    if existing.is_public:
        message = _l(
            "该统一社会信用代码已由“%(name)s”注册，一个代码只能注册一个机构。如您是该机构的工作人员，请联系其管理员邀请您加入。",
            name=existing.name,
        )
    else:
        # A pending or rejected applicant is not public: say only that it
        # exists, and how the real organization gets its code back.
        message = _l(
            "该统一社会信用代码已有机构提交注册，一个代码只能注册一个机构。如果这是贵机构的代码而注册的不是贵机构，"
            "请携登记证书联系所在区县的主管部门：主管部门可以查看持有该代码的注册并予以释放。"
        )
    raise DuplicateCode(message, existing)


def code_holder(session: Session, code: str, *, exclude_id: int | None = None) -> Organization | None:
    """The registration holding ``code`` (confirmed, not released), or None."""
    query = select(Organization).where(Organization.credit_code == code, Organization.code_reserved.is_(True))
    if exclude_id is not None:
        query = query.where(Organization.id != exclude_id)
    return session.scalar(query)


def _reserve_code(session: Session, org: Organization) -> bool:
    """Make ``org`` hold its code if nobody else does; whether it holds it now.
    A natural person has no code to hold."""
    if org.code_reserved or org.org_type == OrgType.NATURAL_PERSON:
        return True
    if code_holder(session, org.credit_code, exclude_id=org.id) is not None:
        return False
    org.code_reserved = True
    session.flush()
    return True


def budget_funded_mass_organization(org: Organization) -> bool:
    """A mass organization (an organ, or an affiliate) that attests budget funding:
    not eligible (MoF Order 102). An affiliate that is not budget-funded is, after
    manual review."""
    return bool(org.budget_funded) and (bool(org.mass_org_affiliate) or org.org_type == OrgType.MASS_ORG_ORGAN)


def region_mismatch(code: str, county: Division | None) -> bool:
    """The credit code's region (characters 3–8, the registering authority's
    division) is neither the chosen county nor its city or province."""
    if county is None or len(code) != 18 or not county.code:
        return False
    region = code[2:8]
    own = county.code.ljust(6, "0")
    return region not in {own, own[:4] + "00", own[:2] + "0000"}


def code_mismatch(org_type: OrgType | str, code: str) -> bool:
    if OrgType(org_type) == OrgType.NATURAL_PERSON:
        return False  # no code
    expected = EXPECTED_PREFIXES.get(OrgType(org_type), ())
    return not code.startswith(expected)


def compute_flags(org: Organization, county: Division | None = None) -> None:
    """Raise the review flags the officer must look at (stored, so the queue can
    show and sort them)."""
    org.flag_budget_funded = bool(org.budget_funded)
    org.flag_mass_organization = bool(org.mass_org_affiliate or org.org_type == OrgType.MASS_ORG_ORGAN)
    org.flag_not_eligible = org.org_type in NOT_ELIGIBLE_TYPES
    org.flag_code_mismatch = code_mismatch(org.org_type, org.credit_code)
    org.flag_region_mismatch = region_mismatch(org.credit_code, county if county is not None else org.county)


def _record(session: Session, org: Organization, kind: DecisionKind, actor: User | None, *, reason: str = "",
            suspended_until: date | None = None) -> OrganizationDecision:
    decision = OrganizationDecision(
        organization=org,
        kind=kind,
        reason=reason,
        status=org.status,
        suspended_until=suspended_until,
        actor_id=actor.id if actor is not None else None,
        created_at=utcnow(),
    )
    session.add(decision)
    session.flush()
    if kind in REVIEW_REQUESTS and org.confirmed_at is not None:
        # An unconfirmed registration is nobody's work yet: its officers hear
        # of it when the email is confirmed (confirm_registration).
        _notify_reviewers(session, org, decision)
    return decision


# Submissions that put an organization into the county's review queue.
REVIEW_REQUESTS = frozenset({DecisionKind.SUBMITTED, DecisionKind.RESUBMITTED, DecisionKind.CHANGED})


def _notify_reviewers(session: Session, org: Organization, decision: OrganizationDecision) -> None:
    """Tell each county officer of the organization's home county that an
    application waits in the review queue (once per submission and officer)."""
    from procure.notifications.services import notify

    officers = session.scalars(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.COUNTY_OFFICER, RoleAssignment.division_id == org.county_id)
        .order_by(User.id)
    ).all()
    context = {
        "organization_name": org.name,
        "decision": decision.kind.value,
        "county_name": org.county.name if org.county else "",
        "flagged": bool(org.flag_budget_funded or org.flag_mass_organization or org.flag_code_mismatch or org.flag_region_mismatch
                        or org.flag_not_eligible),
    }
    for officer in officers:
        notify(session, event_key=f"org.review_request:{decision.id}", template="org_review_request",
               context=context, recipient=officer, link=f"/manage/organizations/{org.id}")


# === registration and edits ===================================================


def register(
    session: Session,
    data: OrgData,
    *,
    account: AccountData | None = None,
    user: User | None = None,
    uploads: list[Upload] = (),
    upload_settings: UploadSettings | None = None,
    keys: identity.IdentityKeys | None = None,
    catalog_year: int | None = None,
) -> tuple[Organization | None, User]:
    """Register an organization (pending) with its first user as administrator.

    Either ``account`` (a new user, who must confirm the email address before
    doing anything: the confirmation is sent here; the registration holds its
    credit code only once that is done) or ``user`` (an existing, logged-in
    user who belongs to no organization yet).

    When ``account`` names an address that already has an account, nothing is
    registered: that address gets an email saying so (sign in / reset the
    password), and ``(None, existing user)`` is returned; the caller must
    answer exactly as for a new account (no account enumeration).
    """
    if data.org_type == OrgType.NATURAL_PERSON.value and keys is None:
        raise ValueError("registering a natural person needs the identity keys")
    clean = _clean(session, data, keys=keys, catalog_year=catalog_year)
    if uploads and upload_settings is None:
        raise ValueError("uploads need upload settings")
    for upload in uploads:
        # Refuse a bad file before anything is created or written to disk.
        _check_kind(upload.kind)
        try:
            documents.sniff(upload.data, max_bytes=upload_settings.max_bytes)
        except DomainError as exc:
            name = documents.clean_original_name(upload.filename)
            raise DomainError(f"{name}：{exc.message}", field="file") from None
    if user is None:
        if account is None:
            raise ValueError("register needs an account or a user")
        from procure.accounts import services as account_services

        account_email = normalize_email(account.email, field_name="account_email")
        name = (account.name or "").strip()
        # Every check of the typed data first, so that the answer never depends
        # on whether the address already has an account.
        account_services.check_password_strength(account.password, user_inputs=(account_email, name),
                                                 field="account_password")
        existing = session.scalar(select(User).where(func.lower(User.email) == account_email))
        if existing is not None:
            # Nothing is registered; the address's owner is told by email
            # (sign in, or reset the password) and the page answers as for a
            # new account. The hash evens out the time a new account takes.
            account_services.hash_password(account.password)
            account_services.send_account_exists(session, existing)
            return None, existing
        try:
            user = account_services.create_user(session, email=account_email, password=account.password, name=name)
        except DomainError as exc:
            # The form's account fields are prefixed.
            raise DomainError(exc.message, field=f"account_{exc.field}" if exc.field else "account_email") from None
        new_user = True
    else:
        if queries.membership_of(user) is not None:
            raise DomainError(_l("您的账号已属于一个机构，不能再注册新的机构。"))
        _refuse_official(user)
        new_user = False
    now = utcnow()
    confirmed = user.email_confirmed_at is not None
    org = Organization(**clean.values, status=OrgStatus.PENDING, declared_at=now, submitted_at=now, created_at=now,
                       confirmed_at=now if confirmed else None, code_reserved=confirmed)
    compute_flags(org, data.county)
    session.add(org)
    session.flush()
    session.add(RoleAssignment(user=user, role=Role.ORG_ADMIN, organization_id=org.id))
    _record(session, org, DecisionKind.SUBMITTED, user)
    for upload in uploads:
        add_document(session, org, upload, uploaded_by=user, settings=upload_settings)
    session.flush()
    if new_user:
        from procure.accounts import services as account_services

        account_services.send_email_confirmation(session, user)
    return org, user


# The fields an officer checked when verifying the organization: changing any
# of them sends a verified organization back to review (by the officers of its
# home county, the new one when the county changes) and is refused while it is
# suspended, so a suspension can never be shed by an edit. The reasons are in
# tests/organizations/test_supervision.py. Every other field (address, contact
# person, phone, email) changes in place.
REVIEW_FIELDS = (
    "name",
    "credit_code",
    "org_type",
    "county_id",
    "legal_representative",
    "budget_funded",
    "mass_org_affiliate",
)
KEY_FIELDS = REVIEW_FIELDS  # the earlier name


def update(session: Session, org: Organization, data: OrgData, *, actor: User) -> list[str]:
    """Save an edit of the organization's profile; returns the changed fields.

    Verified: a change of a REVIEW_FIELDS field sends it back to review
    (pending, in the queue of its — possibly new — home county); other fields
    change in place. Needs-info or rejected: the edit is the resubmission (back
    to pending). Suspended: the REVIEW_FIELDS are locked.
    """
    lock(session, org)
    if (data.org_type == OrgType.NATURAL_PERSON.value) != (org.org_type == OrgType.NATURAL_PERSON):
        raise DomainError(_l("自然人与机构之间不能通过修改资料互相变更，请重新注册。"), field="org_type")
    clean = _clean(session, data, exclude_id=org.id)
    changed = [name for name, value in clean.values.items() if getattr(org, name) != value]
    key_changed = [name for name in changed if name in REVIEW_FIELDS]
    if org.status == OrgStatus.SUSPENDED and key_changed:
        raise DomainError(
            _l("承接资格暂停期间不能变更以下内容：%(fields)s。", fields=changed_fields_text(key_changed))
        )
    for name, value in clean.values.items():
        setattr(org, name, value)
    org.declared_at = utcnow()
    compute_flags(org, data.county)
    if org.confirmed_at is not None and "credit_code" in changed:
        # The old code is given up, the new one is free (checked by _clean).
        org.code_reserved = False
        session.flush()
        _reserve_code(session, org)
    if org.status == OrgStatus.VERIFIED and key_changed:
        org.status = OrgStatus.PENDING
        org.status_reason = ""
        org.verified_at = None
        org.submitted_at = utcnow()
        _record(session, org, DecisionKind.CHANGED, actor, reason=changed_fields_text(key_changed))
    elif org.status in (OrgStatus.NEEDS_INFO, OrgStatus.REJECTED):
        _resubmit(session, org, actor)
    session.flush()
    return changed


def changed_fields_text(names: list[str]) -> str:
    labels = {
        "name": _l("机构名称"),
        "credit_code": _l("统一社会信用代码"),
        "org_type": _l("机构类型"),
        "county_id": _l("所在区县"),
        "legal_representative": _l("法定代表人（负责人）"),
        "budget_funded": _l("是否财政拨款保障"),
        "mass_org_affiliate": _l("群团组织所属社会组织"),
    }
    return "、".join(str(labels[n]) for n in names)


def resubmit(session: Session, org: Organization, *, actor: User) -> OrganizationDecision:
    """The organization answers a request for information (or a rejection) and
    asks for review again."""
    lock(session, org)
    return _resubmit(session, org, actor)


def _resubmit(session: Session, org: Organization, actor: User) -> OrganizationDecision:
    if org.status not in (OrgStatus.NEEDS_INFO, OrgStatus.REJECTED):
        raise DomainError(_l("当前状态不需要重新提交。"))
    org.status = OrgStatus.PENDING
    org.submitted_at = utcnow()
    return _record(session, org, DecisionKind.RESUBMITTED, actor)


# === officer decisions ========================================================


def _reason(text: str | None, *, required_message=None) -> str:
    text = (text or "").strip()
    if required_message is not None and not text:
        raise DomainError(required_message, field="reason")
    if len(text) > MAX_REASON:
        raise DomainError(_l("内容太长：最多 %(n)d 个字符。", n=MAX_REASON), field="reason")
    return text


def lock(session: Session, org: Organization) -> None:
    """Take the organization's row lock and reload it, so that two concurrent
    decisions (two officers, an officer and the organization) are serialised
    and each sees the other's result."""
    session.execute(select(Organization.id).where(Organization.id == org.id).with_for_update())
    session.refresh(org)


def _require_status(org: Organization, allowed: tuple[OrgStatus, ...], message) -> None:
    if org.status not in allowed:
        raise DomainError(message)


def approve(session: Session, org: Organization, *, officer: User, note: str = "") -> OrganizationDecision:
    lock(session, org)
    _require_status(org, (OrgStatus.PENDING, OrgStatus.NEEDS_INFO), _l("只能审核待审核或待补充材料的机构。"))
    if org.org_type in NOT_ELIGIBLE_TYPES:
        raise DomainError(
            _l("公益一类事业单位和财政拨款保障的群团组织机关依法不能承接政府购买服务，不能审核通过：请驳回，或要求其更正机构类型。")
        )
    if budget_funded_mass_organization(org):
        raise DomainError(
            _l("该机构声明由财政拨款保障，又是群团组织或其所属单位：依据财政部令第102号，财政拨款保障的群团组织不能作为承接主体，不能审核通过。请驳回，或在声明确属填错时要求其补充说明并更正。")
        )
    if not _reserve_code(session, org):
        raise DomainError(
            _l("该机构的统一社会信用代码已被另一注册持有，不能审核通过：请先在“代码持有查询”中核实并释放该代码。")
        )
    org.status = OrgStatus.VERIFIED
    org.status_reason = ""
    org.verified_at = utcnow()
    decision = _record(session, org, DecisionKind.APPROVED, officer, reason=_reason(note))
    _notify_decision(session, org, decision)
    return decision


def reject(session: Session, org: Organization, *, officer: User, reason: str) -> OrganizationDecision:
    lock(session, org)
    _require_status(org, (OrgStatus.PENDING, OrgStatus.NEEDS_INFO), _l("只能审核待审核或待补充材料的机构。"))
    org.status = OrgStatus.REJECTED
    org.status_reason = _reason(reason, required_message=_l("请填写不予通过的理由。"))
    decision = _record(session, org, DecisionKind.REJECTED, officer, reason=org.status_reason)
    _notify_decision(session, org, decision)
    return decision


def request_info(session: Session, org: Organization, *, officer: User, message: str) -> OrganizationDecision:
    lock(session, org)
    _require_status(org, (OrgStatus.PENDING,), _l("只能对待审核的机构要求补充材料。"))
    org.status = OrgStatus.NEEDS_INFO
    org.status_reason = _reason(message, required_message=_l("请写明需要补充的材料或信息。"))
    decision = _record(session, org, DecisionKind.INFO_REQUESTED, officer, reason=org.status_reason)
    _notify_decision(session, org, decision)
    return decision


def local_today(tz: str) -> date:
    """Today's date in the time zone ``tz`` (the configured TIMEZONE)."""
    return utcnow().astimezone(ZoneInfo(tz)).date()


def suspend(session: Session, org: Organization, *, officer: User, reason: str, until: date | None,
            today: date) -> OrganizationDecision:
    """Suspend a verified organization's right to bid until ``until`` (inclusive)."""
    lock(session, org)
    _require_status(org, (OrgStatus.VERIFIED,), _l("只能暂停已认证机构的承接资格。"))
    reason = _reason(reason, required_message=_l("请填写暂停理由（如列入失信名单）。"))
    if until is None:
        raise DomainError(_l("请填写暂停截止日期。"), field="until")
    if until <= today:
        raise DomainError(_l("暂停截止日期必须晚于今天。"), field="until")
    org.status = OrgStatus.SUSPENDED
    org.suspension_reason = reason
    org.suspended_until = until
    # The suspension belongs to the county imposing it (the home county now).
    org.suspended_by_id = officer.id
    org.suspended_by_county_id = org.county_id
    decision = _record(session, org, DecisionKind.SUSPENDED, officer, reason=reason, suspended_until=until)
    _notify_decision(session, org, decision)
    return decision


def lift_suspension(session: Session, org: Organization, *, officer: User | None, reason: str = "") -> OrganizationDecision:
    lock(session, org)
    _require_status(org, (OrgStatus.SUSPENDED,), _l("该机构未被暂停。"))
    org.status = OrgStatus.VERIFIED
    org.suspension_reason = ""
    org.suspended_until = None
    org.suspended_by_id = None
    org.suspended_by_county_id = None
    decision = _record(session, org, DecisionKind.SUSPENSION_LIFTED, officer, reason=_reason(reason))
    _notify_decision(session, org, decision)
    return decision


def release_code(session: Session, org: Organization, *, officer: User, reason: str) -> OrganizationDecision:
    """An officer releases the credit code ``org`` holds (a registration by
    someone who is not the organization, or a mistaken one): the registration
    is rejected with the reason and no longer holds the code, so the real
    organization can register (or have its own registration approved). A
    verified or suspended organization's code is not released this way."""
    lock(session, org)
    _require_status(
        org, (OrgStatus.PENDING, OrgStatus.NEEDS_INFO, OrgStatus.REJECTED),
        _l("已认证或已暂停机构的代码不能释放。"),
    )
    reason = _reason(reason, required_message=_l("请填写释放代码的理由（如核实登记证书后确认不是该机构）。"))
    org.code_reserved = False
    org.status = OrgStatus.REJECTED
    org.status_reason = reason
    decision = _record(session, org, DecisionKind.CODE_RELEASED, officer, reason=reason)
    _notify_decision(session, org, decision)
    return decision


def confirm_registration(session: Session, user: User) -> Organization | None:
    """The registering account's email is confirmed: its organization's
    registration is confirmed and takes its credit code, unless a confirmed
    registration took it meanwhile (then it stays in the queue without the
    code, and the organization is told to contact its county)."""
    assignment = queries.membership_of(user)
    if assignment is None or assignment.role != Role.ORG_ADMIN:
        return None
    org = session.get(Organization, assignment.organization_id)
    if org is None or org.confirmed_at is not None:
        return None
    org.confirmed_at = utcnow()
    _reserve_code(session, org)
    session.flush()
    submission = session.scalar(
        select(OrganizationDecision)
        .where(OrganizationDecision.organization_id == org.id, OrganizationDecision.kind.in_(REVIEW_REQUESTS))
        .order_by(OrganizationDecision.id.desc())
        .limit(1)
    )
    if submission is not None and org.status in (OrgStatus.PENDING, OrgStatus.NEEDS_INFO):
        _notify_reviewers(session, org, submission)
    return org


def purge_unconfirmed_registrations(session: Session, *, ttl: timedelta, settings: UploadSettings | None = None,
                                    now: datetime | None = None) -> int:
    """Delete the registrations whose account never confirmed its email within
    ``ttl`` (config UNCONFIRMED_REGISTRATION_DAYS), with their documents and the
    unconfirmed accounts that made them (periodic; idempotent). Returns how
    many registrations were removed."""
    cutoff = (now or utcnow()) - ttl
    stale = list(
        session.scalars(
            select(Organization).where(Organization.confirmed_at.is_(None), Organization.created_at < cutoff)
        )
    )
    for org in stale:
        assignments = member_assignments(session, org)
        users = [a.user for a in assignments]
        paths = [document_path(doc, settings) for doc in org.documents] if settings is not None else []
        for assignment in assignments:
            session.delete(assignment)
        for invitation in session.scalars(select(Invitation).where(Invitation.organization_id == org.id)):
            session.delete(invitation)
        session.delete(org)
        session.flush()
        for user in users:
            session.expire(user, ["roles"])
            if user.email_confirmed_at is None and not user.roles:
                session.delete(user)
        session.flush()
        for path in paths:
            path.unlink(missing_ok=True)
    return len(stale)


def expire_suspensions(session: Session, *, today: date) -> list[Organization]:
    """Lift every suspension whose end date has passed (for the periodic sweep;
    idempotent: a second run finds nothing)."""
    expired = list(
        session.scalars(
            select(Organization)
            .where(Organization.status == OrgStatus.SUSPENDED, Organization.suspended_until < today)
            .with_for_update(of=Organization)
        )
    )
    for org in expired:
        lift_suspension(session, org, officer=None, reason=str(_l("暂停期满，自动恢复。")))
    return expired


def bid_eligibility(org: Organization | None, *, today: date) -> tuple[bool, str]:
    """Whether the organization may bid on ``today`` (the local date, see
    ``local_today``), and if not, why (shown to it)."""
    if org is None:
        return False, str(_l("您的账号不属于任何机构，请先注册机构。"))
    if org.org_type in NOT_ELIGIBLE_TYPES:
        return False, str(_l("公益一类事业单位和财政拨款保障的群团组织机关依法不能承接政府购买服务。"))
    if budget_funded_mass_organization(org):
        return False, str(_l("本机构声明由财政拨款保障，属于财政拨款保障的群团组织，依法不能承接政府购买服务。"))
    if org.status == OrgStatus.SUSPENDED:
        if org.suspended_until is not None and org.suspended_until < today:
            return True, ""
        until = org.suspended_until.isoformat() if org.suspended_until else "—"
        return False, str(
            _l("承接资格已暂停至 %(until)s：%(reason)s", until=until, reason=org.suspension_reason)
        )
    if org.status == OrgStatus.VERIFIED:
        return True, ""
    if org.status == OrgStatus.NEEDS_INFO:
        return False, str(_l("机构尚未通过审核：审核人员要求补充材料：%(m)s", m=org.status_reason))
    if org.status == OrgStatus.REJECTED:
        return False, str(_l("机构注册未通过审核：%(m)s", m=org.status_reason))
    return False, str(_l("机构正在等待所在区县审核，通过后才能投标。"))


def _notify_decision(session: Session, org: Organization, decision: OrganizationDecision) -> None:
    """Email + inbox message to each organization administrator, and an email to
    the organization's own address if no administrator uses it."""
    from procure.notifications.services import notify

    context = {
        "organization_name": org.name,
        "decision": decision.kind.value,
        "decision_label": decision.label,
        "status_label": org.status_label,
        "reason": decision.reason,
        "suspended_until": decision.suspended_until.isoformat() if decision.suspended_until else "",
        "county_name": org.county.name if org.county else "",
    }
    event_key = f"org.decision:{decision.id}"
    admins = [r.user for r in admin_assignments(session, org)]
    emails = set()
    for user in admins:
        notify(session, event_key=event_key, template="org_decision", context=context, recipient=user,
               link=DASHBOARD_PATH)
        emails.add(user.email)
    if org.email not in emails:
        notify(session, event_key=event_key, template="org_decision", context=context, email=org.email,
               link=DASHBOARD_PATH)


# === documents ================================================================


def _check_kind(value: str) -> DocumentKind:
    try:
        return DocumentKind(value)
    except ValueError:
        raise DomainError(_l("请选择材料类型。"), field="kind") from None


def add_document(session: Session, org: Organization, upload: Upload, *, uploaded_by: User | None,
                 settings: UploadSettings) -> OrganizationDocument:
    """Check the file by its content and store it with a random name."""
    kind = _check_kind(upload.kind)
    sniffed = documents.sniff(upload.data, max_bytes=settings.max_bytes)
    if org.id is None:
        session.flush()
    stored = documents.store(settings.root / str(org.id), upload.data, sniffed)
    doc = OrganizationDocument(
        organization=org,
        kind=kind,
        original_name=documents.clean_original_name(upload.filename),
        stored_name=stored,
        content_type=sniffed.content_type,
        size=sniffed.size,
        sha256=sniffed.sha256,
        uploaded_by_id=uploaded_by.id if uploaded_by else None,
        uploaded_at=utcnow(),
    )
    session.add(doc)
    session.flush()
    return doc


def document_path(doc: OrganizationDocument, settings: UploadSettings) -> Path:
    return settings.root / str(doc.organization_id) / doc.stored_name


def delete_document(session: Session, doc: OrganizationDocument, *, settings: UploadSettings) -> None:
    org = doc.organization
    if org.status == OrgStatus.VERIFIED or org.status == OrgStatus.SUSPENDED:
        raise DomainError(_l("已认证机构的材料不能删除（审核依据需要保留），可以上传新的材料。"))
    path = document_path(doc, settings)
    session.delete(doc)
    session.flush()
    path.unlink(missing_ok=True)


# === memberships and invitations ==============================================


def official_roles(user: User) -> set[Role]:
    return {r.role for r in user.roles if r.role in OFFICIAL_ROLES}


def _refuse_official(user: User) -> None:
    if official_roles(user):
        raise DomainError(
            _l("该账号担任主管部门、评审或平台管理的职务，不能同时成为机构的成员（职务与被监管机构须分离）。"),
            field="token",
        )


def member_assignments(session: Session, org: Organization) -> list[RoleAssignment]:
    return list(
        session.scalars(
            select(RoleAssignment)
            .where(RoleAssignment.organization_id == org.id, RoleAssignment.role.in_(ORG_ROLES))
            .order_by(RoleAssignment.id)
        )
    )


def admin_assignments(session: Session, org: Organization) -> list[RoleAssignment]:
    return [a for a in member_assignments(session, org) if a.role == Role.ORG_ADMIN]


def may_invite(org: Organization, user: User) -> bool:
    """Only a confirmed registration, by an administrator whose email is confirmed."""
    return org.confirmed_at is not None and user.email_confirmed_at is not None


def pending_invitation(session: Session, org: Organization, email: str, *, now: datetime | None = None
                       ) -> Invitation | None:
    """The open (not accepted, revoked or expired) invitation of ``email`` to ``org``."""
    now = now or utcnow()
    for invitation in session.scalars(
        select(Invitation).where(
            Invitation.organization_id == org.id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        ).order_by(Invitation.id.desc())
    ):
        if as_utc(invitation.expires_at) > now:
            return invitation
    return None


def invite(session: Session, org: Organization, *, email: str, as_admin: bool = False, invited_by: User,
           timezone: str, ttl: timedelta = DEFAULT_INVITATION_TTL) -> tuple[Invitation, str | None]:
    """Invite a colleague by email; returns the invitation and the raw token
    (only its SHA-256 is stored). The email is sent after commit and gives the
    expiry in ``timezone`` (the configured TIMEZONE).

    One email per invitation: inviting an address that already has an open
    invitation sends nothing; the open invitation is kept (its link, already
    in the invitee's mailbox, stays valid for ``ttl`` from now) and returned
    with ``None`` as token. To send a new email, revoke it and invite again."""
    if ttl > MAX_INVITATION_TTL:
        raise ValueError("invitation ttl above MAX_INVITATION_TTL")
    from procure.accounts import tokens
    from procure.notifications.services import notify

    if not may_invite(org, invited_by):
        raise DomainError(_l("机构注册的邮箱确认之前不能邀请成员：请先点击确认邮件中的链接。"))
    email = normalize_email(email)
    for assignment in member_assignments(session, org):
        if assignment.user.email == email:
            raise DomainError(_l("%(e)s 已是本机构成员。", e=email), field="email")
    existing_user = session.scalar(select(User).where(func.lower(User.email) == email))
    if existing_user is not None and queries.membership_of(existing_user) is not None:
        raise DomainError(_l("%(e)s 已属于其他机构，不能邀请。", e=email), field="email")
    if existing_user is not None and official_roles(existing_user):
        raise DomainError(
            _l("%(e)s 的账号担任主管部门、评审或平台管理的职务，不能成为机构成员。", e=email), field="email"
        )
    now = utcnow()
    pending = pending_invitation(session, org, email, now=now)
    if pending is not None:
        if pending.as_admin != bool(as_admin):
            raise DomainError(
                _l("已向 %(e)s 发出邀请，身份不同：如需更改身份，请先撤销该邀请再重新邀请。", e=email), field="email"
            )
        pending.expires_at = max(as_utc(pending.expires_at), now + ttl)
        session.flush()
        return pending, None
    token = tokens.dumps(INVITATION_PURPOSE, {"o": org.id, "n": secrets.token_urlsafe(16)})
    invitation = Invitation(
        organization_id=org.id,
        email=email,
        as_admin=as_admin,
        token_hash=token_hash(token),
        invited_by_id=invited_by.id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(invitation)
    session.flush()
    notify(
        session,
        event_key=f"org.invitation:{invitation.id}",
        template="org_invitation",
        context={
            "organization_name": org.name,
            "inviter_name": invited_by.name or invited_by.email,
            "role_label": str(_l("管理员") if as_admin else _l("成员")),
            "expires_at": as_utc(invitation.expires_at).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M"),
        },
        email=email,
        link=f"/organizations/invitations/{token}",
    )
    return invitation, token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_invitation(session: Session, token: str, *, now: datetime | None = None) -> Invitation:
    """The open invitation of ``token``; DomainError with a clear message when
    the link is broken, expired, already used or withdrawn."""
    from procure.accounts import tokens

    data = tokens.loads(INVITATION_PURPOSE, token, int(MAX_INVITATION_TTL.total_seconds()))
    invitation = session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))
    if invitation is None or not isinstance(data, dict) or data.get("o") != invitation.organization_id:
        raise DomainError(_l("邀请链接无效：可能不完整或已被修改，请使用邮件中的完整链接。"), field="token")
    if invitation.accepted_at is not None:
        raise DomainError(_l("该邀请链接已使用过，每个邀请链接只能使用一次。请直接登录。"), field="token")
    if invitation.revoked_at is not None:
        raise DomainError(_l("该邀请已被撤销或已被新的邀请取代，请使用最新的邀请邮件。"), field="token")
    if as_utc(invitation.expires_at) <= (now or utcnow()):
        raise DomainError(_l("邀请链接已过期，请联系机构管理员重新邀请。"), field="token")
    return invitation


def accept_invitation(session: Session, token: str, *, user: User | None = None,
                      account: AccountData | None = None) -> User:
    """Accept an invitation: attach ``user`` (logged in, same email) or create
    the account from ``account`` (its email is the invited one, confirmed by
    following the link). Single use: locked, then marked accepted."""
    invitation = find_invitation(session, token)
    # Lock the row so two concurrent accepts cannot both pass.
    invitation = session.scalar(
        select(Invitation).where(Invitation.id == invitation.id).with_for_update()
    )
    if invitation.accepted_at is not None:
        raise DomainError(_l("该邀请链接已使用过，每个邀请链接只能使用一次。请直接登录。"), field="token")
    if user is not None:
        if user.email != invitation.email:
            raise DomainError(
                _l("该邀请发给 %(e)s，请用该邮箱的账号登录后再接受邀请。", e=invitation.email), field="token"
            )
    else:
        if account is None:
            raise ValueError("accept_invitation needs a user or an account")
        from procure.accounts import services as account_services

        existing = session.scalar(select(User).where(func.lower(User.email) == invitation.email))
        if existing is not None:
            raise DomainError(_l("该邮箱已有账号，请先登录再接受邀请。"), field="token")
        # The link arrived at this address: that confirms it.
        user = account_services.create_user(
            session,
            email=invitation.email,
            password=account.password,
            name=(account.name or "").strip(),
            confirmed=True,
        )
    if queries.membership_of(user) is not None:
        raise DomainError(_l("您的账号已属于一个机构。"), field="token")
    _refuse_official(user)
    role = Role.ORG_ADMIN if invitation.as_admin else Role.ORG_MEMBER
    session.add(RoleAssignment(user=user, role=role, organization_id=invitation.organization_id))
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    session.flush()
    session.expire(user, ["roles"])
    return user


def revoke_invitation(session: Session, invitation: Invitation) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        session.flush()


def remove_member(session: Session, org: Organization, assignment: RoleAssignment, *, actor: User) -> None:
    """Remove a member; the last administrator cannot be removed (not even by
    themselves), so an organization is never left without one."""
    if assignment.organization_id != org.id or assignment.role not in ORG_ROLES:
        raise DomainError(_l("该用户不是本机构成员。"))
    if assignment.role == Role.ORG_ADMIN and len(admin_assignments(session, org)) <= 1:
        raise DomainError(_l("不能移除机构唯一的管理员：请先邀请或指定另一位管理员。"))
    user = assignment.user
    session.add(FormerMembership(organization_id=org.id, user_id=user.id, role=str(assignment.role),
                                 joined_at=assignment.created_at, left_at=utcnow()))
    session.delete(assignment)
    session.flush()
    session.expire(user, ["roles", "former_memberships"])


def set_member_role(session: Session, org: Organization, assignment: RoleAssignment, *, admin: bool) -> None:
    if assignment.organization_id != org.id or assignment.role not in ORG_ROLES:
        raise DomainError(_l("该用户不是本机构成员。"))
    if not admin and assignment.role == Role.ORG_ADMIN and len(admin_assignments(session, org)) <= 1:
        raise DomainError(_l("不能取消机构唯一管理员的管理员身份。"))
    assignment.role = Role.ORG_ADMIN if admin else Role.ORG_MEMBER
    session.flush()
