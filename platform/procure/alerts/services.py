"""Follows: an organization follows a county or a category of a county's
catalog. Flush, never commit."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from procure.alerts.models import OrganizationFollow
from procure.catalog import queries as catalog_queries
from procure.errors import DomainError
from procure.geo.models import Division
from procure.organizations.models import Organization

MAX_FOLLOWS = 200


def follow(session: Session, organization: Organization, *, county: Division | None,
           category_code: str = "") -> OrganizationFollow:
    """Follow the county (no code) or the category ``category_code`` of the
    county's current published catalog. Idempotent. Raises DomainError."""
    if county is None or county.level != "county":
        raise DomainError(_l("请选择区县。"), field="county")
    category_code = (category_code or "").strip().upper()
    name = ""
    if category_code:
        catalog = catalog_queries.current_published(session, county.id)
        category = catalog_queries.category_by_code(session, catalog, category_code) if catalog else None
        if category is None:
            raise DomainError(_l("该区县的现行目录中没有这个类别。"), field="category")
        name = category.name
    existing = session.scalar(
        select(OrganizationFollow).where(
            OrganizationFollow.organization_id == organization.id,
            OrganizationFollow.county_id == county.id,
            OrganizationFollow.category_code == category_code,
        )
    )
    if existing is not None:
        return existing
    count = len(follows_of(session, organization))
    if count >= MAX_FOLLOWS:
        raise DomainError(_l("关注数量已达上限（%(n)d）。", n=MAX_FOLLOWS))
    row = OrganizationFollow(organization_id=organization.id, county_id=county.id, category_code=category_code,
                             category_name=name)
    session.add(row)
    session.flush()
    return row


def follow_of(session: Session, organization: Organization, follow_id: int) -> OrganizationFollow | None:
    """The organization's follow ``follow_id`` (another organization's is None)."""
    row = session.get(OrganizationFollow, follow_id)
    return row if row is not None and row.organization_id == organization.id else None


def unfollow(session: Session, organization: Organization, follow_id: int) -> bool:
    row = follow_of(session, organization, follow_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def follows_of(session: Session, organization: Organization) -> list[OrganizationFollow]:
    return list(
        session.scalars(
            select(OrganizationFollow)
            .where(OrganizationFollow.organization_id == organization.id)
            .order_by(OrganizationFollow.county_id, OrganizationFollow.category_code)
        )
    )
