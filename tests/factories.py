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
