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


def user(role: Role | None = None, division_code: str | None = None, email: str | None = None):
    email = email or f"user{next(_seq)}@example.com"
    u = account_services.create_user(db.session, email=email, password=PASSWORD, name="测试用户")
    if role is not None:
        division = geo_queries.by_code(db.session, division_code) if division_code else None
        account_services.grant_role(db.session, u, role, division)
    db.session.commit()
    return u


def officer(county_code: str = "371321", **kw):
    return user(Role.COUNTY_OFFICER, county_code, **kw)


def admin(**kw):
    return user(Role.PLATFORM_ADMIN, **kw)
