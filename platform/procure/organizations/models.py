"""Organizations that may bid (承接主体), their review history, documents and
invitations.

Membership is a ``RoleAssignment`` (role org_admin / org_member) carrying the
``organization_id``; a user belongs to at most one organization.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, DateTime, Enum, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.extensions import db
from procure.geo.models import Division
from procure.timeutil import utcnow

if TYPE_CHECKING:
    from procure.accounts.models import User


def _enum(cls, length: int = 32):
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class OrgType(enum.StrEnum):
    """Organization types: the eligible undertakers of MoF Order 102, and the two
    kinds that are not eligible, so an applicant can say so honestly."""

    ENTERPRISE = "enterprise"  # 企业
    SOCIAL_GROUP = "social_group"  # 社会团体
    SOCIAL_SERVICE_AGENCY = "social_service_agency"  # 社会服务机构（民办非企业单位）
    FOUNDATION = "foundation"  # 基金会
    PUBLIC_INSTITUTION_CLASS2 = "public_institution_class2"  # 公益二类事业单位
    BUSINESS_PUBLIC_INSTITUTION = "business_public_institution"  # 生产经营类事业单位
    RURAL_COLLECTIVE = "rural_collective"  # 农村集体经济组织
    VILLAGE_COMMITTEE = "village_committee"  # 村（居）民委员会
    INDIVIDUAL = "individual"  # 个体工商户 (credit code kind 92)
    NATURAL_PERSON = "natural_person"  # 自然人: no credit code, a resident identity number
    # Not eligible (MoF Order 102, art. 6/8):
    PUBLIC_INSTITUTION_CLASS1 = "public_institution_class1"  # 公益一类事业单位
    MASS_ORG_ORGAN = "mass_org_organ"  # 财政拨款保障的群团组织机关


ORG_TYPE_LABELS: dict[str, object] = {
    OrgType.ENTERPRISE.value: _l("企业"),
    OrgType.SOCIAL_GROUP.value: _l("社会团体"),
    OrgType.SOCIAL_SERVICE_AGENCY.value: _l("社会服务机构（民办非企业单位）"),
    OrgType.FOUNDATION.value: _l("基金会"),
    OrgType.PUBLIC_INSTITUTION_CLASS2.value: _l("公益二类事业单位"),
    OrgType.BUSINESS_PUBLIC_INSTITUTION.value: _l("生产经营类事业单位"),
    OrgType.RURAL_COLLECTIVE.value: _l("农村集体经济组织"),
    OrgType.VILLAGE_COMMITTEE.value: _l("村（居）民委员会"),
    OrgType.INDIVIDUAL.value: _l("个体工商户"),
    OrgType.NATURAL_PERSON.value: _l("自然人（具备条件的个人）"),
    OrgType.PUBLIC_INSTITUTION_CLASS1.value: _l("公益一类事业单位（不具备承接资格）"),
    OrgType.MASS_ORG_ORGAN.value: _l("财政拨款保障的群团组织机关（不具备承接资格）"),
}

NOT_ELIGIBLE_TYPES = frozenset({OrgType.PUBLIC_INSTITUTION_CLASS1, OrgType.MASS_ORG_ORGAN})

# The catalog's undertaker type (catalog.models.UndertakerType values) each
# organization type counts as; not-eligible types count as none.
UNDERTAKER_TYPE: dict[str, str] = {
    OrgType.ENTERPRISE.value: "enterprise",
    OrgType.SOCIAL_GROUP.value: "social_organization",
    OrgType.SOCIAL_SERVICE_AGENCY.value: "social_organization",
    OrgType.FOUNDATION.value: "social_organization",
    OrgType.PUBLIC_INSTITUTION_CLASS2.value: "public_institution",
    OrgType.BUSINESS_PUBLIC_INSTITUTION.value: "public_institution",
    OrgType.RURAL_COLLECTIVE.value: "rural_collective",
    OrgType.VILLAGE_COMMITTEE.value: "village_organization",
    OrgType.INDIVIDUAL.value: "individual",
    OrgType.NATURAL_PERSON.value: "individual",
}


class OrgStatus(enum.StrEnum):
    PENDING = "pending"  # awaiting an officer's review
    NEEDS_INFO = "needs_info"  # officer asked for more information
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


ORG_STATUS_LABELS: dict[str, object] = {
    OrgStatus.PENDING.value: _l("待审核"),
    OrgStatus.NEEDS_INFO.value: _l("需补充材料"),
    OrgStatus.VERIFIED.value: _l("已认证"),
    OrgStatus.REJECTED.value: _l("未通过"),
    OrgStatus.SUSPENDED.value: _l("已暂停"),
}

# Only these are visible to the public (the organization page and directory).
PUBLIC_STATUSES = frozenset({OrgStatus.VERIFIED, OrgStatus.SUSPENDED})


class DecisionKind(enum.StrEnum):
    SUBMITTED = "submitted"  # registration (by the organization)
    RESUBMITTED = "resubmitted"  # edited and sent back for review (by the organization)
    CHANGED = "changed"  # a verified organization changed name/code/type: back to review
    APPROVED = "approved"
    REJECTED = "rejected"
    INFO_REQUESTED = "info_requested"
    SUSPENDED = "suspended"
    SUSPENSION_LIFTED = "suspension_lifted"
    # An officer released the credit code the organization held (a squatter's
    # or a mistaken registration): it is rejected and no longer holds the code.
    CODE_RELEASED = "code_released"


DECISION_LABELS: dict[str, object] = {
    DecisionKind.SUBMITTED.value: _l("提交注册申请"),
    DecisionKind.RESUBMITTED.value: _l("修改后重新提交"),
    DecisionKind.CHANGED.value: _l("变更名称/代码/类型/所在区县，重新审核"),
    DecisionKind.APPROVED.value: _l("审核通过"),
    DecisionKind.REJECTED.value: _l("审核未通过"),
    DecisionKind.INFO_REQUESTED.value: _l("要求补充材料"),
    DecisionKind.SUSPENDED.value: _l("暂停承接资格"),
    DecisionKind.SUSPENSION_LIFTED.value: _l("恢复承接资格"),
    DecisionKind.CODE_RELEASED.value: _l("释放统一社会信用代码"),
}

# Decisions taken by officers: each is emailed to the organization.
OFFICER_DECISIONS = frozenset(
    {
        DecisionKind.APPROVED,
        DecisionKind.REJECTED,
        DecisionKind.INFO_REQUESTED,
        DecisionKind.SUSPENDED,
        DecisionKind.SUSPENSION_LIFTED,
        DecisionKind.CODE_RELEASED,
    }
)


class DocumentKind(enum.StrEnum):
    REGISTRATION_CERTIFICATE = "registration_certificate"  # 登记证书 / 营业执照
    ARTICLES = "articles"  # 章程
    FINANCIAL = "financial"  # 财务报告 / 审计报告
    TAX_SOCIAL_INSURANCE = "tax_social_insurance"  # 纳税和社保缴纳证明
    OTHER = "other"


DOCUMENT_KIND_LABELS: dict[str, object] = {
    DocumentKind.REGISTRATION_CERTIFICATE.value: _l("登记证书 / 营业执照"),
    DocumentKind.ARTICLES.value: _l("章程"),
    DocumentKind.FINANCIAL.value: _l("财务或审计报告"),
    DocumentKind.TAX_SOCIAL_INSURANCE.value: _l("纳税和社保缴纳证明"),
    DocumentKind.OTHER.value: _l("其他材料"),
}


class Organization(db.Model):
    __tablename__ = "organizations"
    __table_args__ = (
        # One organization per code, among the registrations that hold it: an
        # unconfirmed registration (its administrator has not confirmed the
        # email yet) or one whose code an officer released holds nothing.
        Index(
            "uq_organizations_reserved_credit_code",
            "credit_code",
            unique=True,
            postgresql_where=text("code_reserved"),
            sqlite_where=text("code_reserved"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Normalised (upper case, no separators).
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    # Whether this registration holds its code (see the index above): set when
    # the registering account's email is confirmed, cleared by an officer's release.
    code_reserved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When the registering account's email was confirmed (None: an unconfirmed
    # registration, purged after REGISTRATION_UNCONFIRMED_TTL_DAYS).
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    org_type: Mapped[OrgType] = mapped_column(_enum(OrgType), index=True)
    # A registered affiliate of a mass organization (e.g. the Youth League's
    # volunteers' association): eligible, but always reviewed by hand.
    mass_org_affiliate: Mapped[bool] = mapped_column(Boolean, default=False)
    county_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    address: Mapped[str] = mapped_column(String(300))
    legal_representative: Mapped[str] = mapped_column(String(100))
    contact_person: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(30))
    email: Mapped[str] = mapped_column(String(254))
    budget_funded: Mapped[bool] = mapped_column(Boolean, default=False)
    # A natural person's resident identity number: encrypted (identity.py), and
    # its keyed digest, unique, so one number registers once. Empty otherwise.
    identity_encrypted: Mapped[str] = mapped_column(Text, default="", server_default="")
    identity_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The four general supplier declarations, with the time they were made.
    declares_independent_liability: Mapped[bool] = mapped_column(Boolean, default=False)
    declares_sound_accounts: Mapped[bool] = mapped_column(Boolean, default=False)
    declares_tax_social_insurance: Mapped[bool] = mapped_column(Boolean, default=False)
    declares_no_major_violation: Mapped[bool] = mapped_column(Boolean, default=False)
    declared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    status: Mapped[OrgStatus] = mapped_column(_enum(OrgStatus, 16), default=OrgStatus.PENDING, index=True)
    # The latest officer message the organization must act on or know about.
    status_reason: Mapped[str] = mapped_column(Text, default="")
    suspension_reason: Mapped[str] = mapped_column(Text, default="")
    suspended_until: Mapped[date | None] = mapped_column(Date)
    # Who imposed the running suspension, and as officer of which county: only
    # that county's officers (or a platform admin) may lift it, wherever the
    # organization is now.
    suspended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    suspended_by_county_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"))

    # Review flags, computed by services.compute_flags on every save.
    flag_budget_funded: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_mass_organization: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_code_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_not_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    # The credit code's region (characters 3–8) is not the chosen county (or its city/province).
    flag_region_mismatch: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    county: Mapped[Division] = relationship(lazy="joined", foreign_keys=[county_id])
    decisions: Mapped[list[OrganizationDecision]] = relationship(
        back_populates="organization",
        cascade="all, delete-orphan",
        order_by="OrganizationDecision.id",
    )
    documents: Mapped[list[OrganizationDocument]] = relationship(
        back_populates="organization",
        cascade="all, delete-orphan",
        order_by="OrganizationDocument.id",
    )

    @property
    def is_natural_person(self) -> bool:
        return self.org_type == OrgType.NATURAL_PERSON

    @property
    def type_label(self) -> str:
        return str(ORG_TYPE_LABELS.get(self.org_type, self.org_type))

    @property
    def status_label(self) -> str:
        return str(ORG_STATUS_LABELS.get(self.status, self.status))

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES

    @property
    def eligible_type(self) -> bool:
        return self.org_type not in NOT_ELIGIBLE_TYPES

    @property
    def undertaker_types(self) -> set[str]:
        """The catalog undertaker types (UndertakerType values) this organization counts as."""
        if not self.eligible_type:
            return set()
        types = {UNDERTAKER_TYPE[self.org_type]}
        if self.mass_org_affiliate:
            types.add("mass_organization")
        return types

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

    @property
    def flags(self) -> list[str]:
        """Names of the raised review flags, in display order."""
        names = []
        if self.flag_not_eligible:
            names.append("not_eligible")
        if self.flag_budget_funded:
            names.append("budget_funded")
        if self.flag_mass_organization:
            names.append("mass_organization")
        if self.flag_code_mismatch:
            names.append("code_mismatch")
        if self.flag_region_mismatch:
            names.append("region_mismatch")
        return names

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.credit_code} {self.status}>"


class OrganizationDecision(db.Model):
    """Review history: every submission and every officer decision."""

    __tablename__ = "organization_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DecisionKind] = mapped_column(_enum(DecisionKind))
    reason: Mapped[str] = mapped_column(Text, default="")
    # Status after the decision.
    status: Mapped[OrgStatus] = mapped_column(_enum(OrgStatus, 16))
    suspended_until: Mapped[date | None] = mapped_column(Date)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="decisions")
    actor: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        return str(DECISION_LABELS.get(self.kind, self.kind))

    @property
    def by_officer(self) -> bool:
        return self.kind in OFFICER_DECISIONS


class OrganizationDocument(db.Model):
    """An uploaded file, stored under instance/uploads/organizations/<id>/ with a
    random name; its type comes from its content, never from its file name."""

    __tablename__ = "organization_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="documents")

    @property
    def kind_label(self) -> str:
        return str(DOCUMENT_KIND_LABELS.get(self.kind, self.kind))

    @property
    def size_label(self) -> str:
        from procure.organizations.documents import human_size

        return human_size(self.size)


class Invitation(db.Model):
    """An invitation to join an organization: the emailed link is signed and
    expiring; only its SHA-256 is stored, and it works once."""

    __tablename__ = "organization_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    as_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organization: Mapped[Organization] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])


class FormerMembership(db.Model):
    """A membership that ended (the member was removed or left): kept so that
    nobody who ever belonged to an organization decides about it later."""

    __tablename__ = "organization_former_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    joined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
