"""Builders of test data through the real services."""
from __future__ import annotations

import itertools

from procure.accounts import services as account_services
from procure.accounts.models import Role
from procure.extensions import db
from procure.geo import queries as geo_queries

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def county(code: str = "371321"):
    return geo_queries.county_by_code(db.session, code)


def user(role: Role | None = None, division_code: str | None = None, email: str | None = None,
         confirmed: bool = True):
    """A user (email confirmed unless ``confirmed=False``), with ``role`` if given. Committed."""
    email = email or f"user{next(_seq)}@example.com"
    u = account_services.create_user(db.session, email=email, password=PASSWORD, name="测试用户",
                                     confirmed=confirmed)
    if role is not None:
        division = geo_queries.by_code(db.session, division_code) if division_code else None
        account_services.grant_role(db.session, u, role, division)
    db.session.commit()
    return u


def officer(county_code: str = "371321", **kw):
    return user(Role.COUNTY_OFFICER, county_code, **kw)


def admin(**kw):
    return user(Role.PLATFORM_ADMIN, **kw)


def township_officer(township_code: str = "371321101", **kw):
    return user(Role.TOWNSHIP_OFFICER, township_code, **kw)


# Default content of ``catalog_with_items``: (level 1, level 2, level 3, item name,
# service content, undertaker types, mass organizations first).
SAMPLE_ITEMS = [
    ("公共服务", "养老服务", "居家养老", "居家养老上门服务", "为失能、半失能老人提供助餐、助洁等上门服务",
     ["social_organization", "enterprise"], False),
    ("公共服务", "养老服务", "机构养老", "农村幸福院运营管理", "负责农村幸福院日常运营和安全管理",
     ["social_organization", "village_organization"], False),
    ("公共服务", "儿童福利", "留守儿童", "农村留守儿童关爱服务", "开展学业辅导、亲情陪伴、安全教育",
     ["social_organization", "mass_organization"], True),
    ("政府履职所需辅助性服务", "法律服务", "法律顾问", "乡镇政府法律顾问服务", "为乡镇政府提供合法性审查",
     ["enterprise"], False),
]


def catalog_with_items(county_code: str = "371321", year: int = 2026, *, items=None, publish: bool = True,
                       user=None):
    """A catalog version of the county built through the services, published by
    default (superseding the year's previous published version). Committed."""
    from procure.catalog import services as catalog_services

    catalog = catalog_services.create_draft(db.session, county=county(county_code), year=year, user=user)
    categories: dict[tuple[str, ...], object] = {}
    for l1, l2, l3, name, content, types, mass_first in items if items is not None else SAMPLE_ITEMS:
        parent = None
        path: tuple[str, ...] = ()
        for level_name in (l1, l2, l3):
            path += (level_name,)
            if path not in categories:
                categories[path] = catalog_services.add_category(db.session, catalog, name=level_name, parent=parent)
            parent = categories[path]
        catalog_services.add_item(
            db.session,
            parent,
            catalog_services.ItemData(name=name, service_content=content, purchasing_department="乡镇民政办",
                                      undertaker_types=types, mass_org_first=mass_first),
        )
    if publish:
        catalog_services.publish(db.session, catalog, user)
    db.session.commit()
    return catalog


# --- organizations ----------------------------------------------------------

# Credit-code prefix (authority + kind) matching each organization type.
ORG_CODE_PREFIX = {
    "enterprise": "91",
    "social_group": "51",
    "social_service_agency": "52",
    "foundation": "53",
    "public_institution_class2": "12",
    "business_public_institution": "12",
    "rural_collective": "N2",
    "village_committee": "Y1",
    "individual": "92",
    "public_institution_class1": "12",
    "mass_org_organ": "13",
}


def credit_code(prefix: str = "52", division_code: str = "371321") -> str:
    """A fresh valid unified social credit code (check character by stdnum)."""
    from procure.organizations.credit_codes import make_code

    return make_code(prefix, division_code, f"MA{next(_seq):07d}")


def org_data(county_code: str = "371321", **overrides):
    """OrgData for the organization services (all declarations made)."""
    from procure.organizations import services as org_services

    org_type = overrides.pop("org_type", "social_service_agency")
    values = dict(
        name=f"测试社会工作服务中心{next(_seq)}",
        credit_code=credit_code(ORG_CODE_PREFIX[org_type], county_code),
        org_type=org_type,
        county=county(county_code),
        address="沂南县界湖街道测试路 1 号",
        legal_representative="张三",
        contact_person="李四",
        phone="0539-3221234",
        email=f"org{next(_seq)}@example.com",
        budget_funded=False,
        mass_org_affiliate=False,
        declares_independent_liability=True,
        declares_sound_accounts=True,
        declares_tax_social_insurance=True,
        declares_no_major_violation=True,
    )
    values.update(overrides)
    return org_services.OrgData(**values)


def organization(county_code: str = "371321", *, status: str = "verified", admin_user=None, officer_user=None,
                 **overrides):
    """An organization registered through the services by ``admin_user`` (a new
    confirmed user by default, its administrator), then approved (``verified``),
    rejected, or left ``pending``. Committed. Returns the organization."""
    from procure.organizations import services as org_services

    admin_user = admin_user or user()
    org, _ = org_services.register(db.session, org_data(county_code, **overrides), user=admin_user)
    if status != "pending":
        officer_user = officer_user or user(Role.COUNTY_OFFICER, county_code)
        if status == "verified":
            org_services.approve(db.session, org, officer=officer_user)
        elif status == "rejected":
            org_services.reject(db.session, org, officer=officer_user, reason="材料不全")
        elif status == "needs_info":
            org_services.request_info(db.session, org, officer=officer_user, message="请上传登记证书")
        else:
            raise ValueError(status)
    db.session.commit()
    return org


def org_member(org, *, admin: bool = False, **kw):
    """A confirmed user who is a member (or admin) of ``org``. Committed."""
    from procure.accounts.models import RoleAssignment

    u = user(**kw)
    db.session.add(RoleAssignment(user=u, role=Role.ORG_ADMIN if admin else Role.ORG_MEMBER, organization_id=org.id))
    db.session.commit()
    db.session.expire(u, ["roles"])
    return u
