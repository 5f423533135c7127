"""Demo organizations of 沂南县 (371321), registered and reviewed through the real
services: four verified undertakers of different types, one pending applicant
(flagged for manual review), one rejected. Each has an administrator login with
the demo password. Idempotent: an organization whose credit code exists is
left as it is.

The credit codes are fictional (entity part ``DEM…``) but valid: their check
character comes from ``stdnum.cn.uscc.calc_check_digit``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from procure.accounts import queries as account_queries
from procure.accounts import services as account_services
from procure.geo import queries as geo_queries
from procure.organizations import queries as org_queries
from procure.organizations import services as org_services
from procure.organizations.credit_codes import make_code

DEMO_COUNTY = "371321"
DEMO_PASSWORD = "procure-demo-2026"
DEMO_OFFICER = "officer@yinan.example.com"


@dataclass(frozen=True)
class DemoOrg:
    key: str
    email: str  # the administrator's login
    admin_name: str
    name: str
    org_type: str
    code_prefix: str
    entity: str
    status: str  # verified / pending / rejected
    mass_org_affiliate: bool = False
    budget_funded: bool = False
    address: str = ""
    reason: str = ""

    @property
    def credit_code(self) -> str:
        return make_code(self.code_prefix, DEMO_COUNTY, self.entity)


DEMO_ORGS = [
    DemoOrg(
        "socialwork", "socialwork@demo.example.com", "王芳", "沂南县阳光社会工作服务中心",
        "social_service_agency", "52", "DEM000011", "verified", address="沂南县界湖街道澳柯玛大道 88 号",
    ),
    DemoOrg(
        "volunteers", "volunteers@demo.example.com", "赵磊", "沂南县青年志愿者协会",
        "social_group", "51", "DEM000021", "verified", mass_org_affiliate=True,
        address="沂南县界湖街道人民路 12 号（团县委楼内）",
    ),
    DemoOrg(
        "eldercare", "eldercare@demo.example.com", "孙丽", "沂南县康颐养老服务有限公司",
        "enterprise", "91", "DEM000031", "verified", address="沂南县界湖街道振兴路 206 号",
    ),
    DemoOrg(
        "culture", "culture@demo.example.com", "刘强", "沂南县铜井镇文化服务协会",
        "social_group", "51", "DEM000041", "verified", address="沂南县铜井镇政府驻地文化站",
    ),
    DemoOrg(
        "applicant", "applicant@demo.example.com", "陈静", "沂南县巾帼家政服务中心",
        "social_service_agency", "52", "DEM000051", "pending", mass_org_affiliate=True,
        address="沂南县界湖街道府前路 3 号（县妇联院内）",
    ),
    DemoOrg(
        "rejected", "rejected@demo.example.com", "周涛", "沂南县青少年校外活动中心",
        "public_institution_class1", "12", "DEM000061", "rejected", budget_funded=True,
        address="沂南县界湖街道青年路 1 号",
        reason="本单位为公益一类事业单位，经费由财政拨款保障，依据《政府购买服务管理办法》（财政部令第102号）不能作为承接主体。",
    ),
]

_DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def _upload_settings() -> org_services.UploadSettings | None:
    if not has_app_context():
        return None
    return org_services.UploadSettings(
        root=Path(current_app.instance_path) / "uploads" / "organizations",
        max_bytes=current_app.config["ORG_DOCUMENT_MAX_BYTES"],
    )


def load_demo_organizations(session: Session) -> list[str]:
    county = geo_queries.county_by_code(session, DEMO_COUNTY)
    officer = account_queries.by_email(session, DEMO_OFFICER)
    settings = _upload_settings()
    report = []
    for demo in DEMO_ORGS:
        line = f"demo organization {demo.name} ({demo.status}): {demo.email} / {DEMO_PASSWORD}"
        if org_queries.by_credit_code(session, demo.credit_code) is not None:
            report.append(line + " (already present)")
            continue
        user = account_queries.by_email(session, demo.email) or account_services.create_user(
            session, email=demo.email, password=DEMO_PASSWORD, name=demo.admin_name, confirmed=True
        )
        data = org_services.OrgData(
            name=demo.name,
            credit_code=demo.credit_code,
            org_type=demo.org_type,
            county=county,
            address=demo.address,
            legal_representative=demo.admin_name,
            contact_person=demo.admin_name,
            phone="0539-3221000",
            email=demo.email,
            budget_funded=demo.budget_funded,
            mass_org_affiliate=demo.mass_org_affiliate,
            declares_independent_liability=True,
            declares_sound_accounts=True,
            declares_tax_social_insurance=True,
            declares_no_major_violation=True,
        )
        uploads = []
        if settings is not None:
            uploads = [org_services.Upload("registration_certificate", "登记证书（示例）.pdf", _DEMO_PDF)]
        org, _ = org_services.register(session, data, user=user, uploads=uploads, upload_settings=settings)
        if demo.status == "verified":
            org_services.approve(session, org, officer=officer)
        elif demo.status == "rejected":
            org_services.reject(session, org, officer=officer, reason=demo.reason)
        report.append(line)
    return report
