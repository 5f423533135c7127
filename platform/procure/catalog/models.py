"""Guiding catalogs of township purchasable services (乡镇政府购买服务指导性目录)."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, DateTime, Enum, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.accounts.models import User
from procure.extensions import db
from procure.geo.models import Division
from procure.timeutil import utcnow


class CatalogStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class UndertakerType(enum.StrEnum):
    """Eligible undertaker types (承接主体类型) a catalog item may name."""

    SOCIAL_ORGANIZATION = "social_organization"  # 社会组织
    MASS_ORGANIZATION = "mass_organization"  # 群团组织 (registered affiliates)
    ENTERPRISE = "enterprise"  # 企业
    PUBLIC_INSTITUTION = "public_institution"  # 事业单位（公益二类）
    VILLAGE_ORGANIZATION = "village_organization"  # 村级组织 / 基层群众性自治组织
    RURAL_COLLECTIVE = "rural_collective"  # 农村集体经济组织
    INDIVIDUAL = "individual"  # 自然人


def _enum(cls, length=16):
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Catalog(db.Model):
    """One version of a county's catalog for one year."""

    __tablename__ = "catalogs"
    __table_args__ = (
        UniqueConstraint("county_id", "year", "version"),
        # At most one draft and one published version per county and year,
        # enforced by the database too (services check it first, with a message).
        Index(
            "uq_catalogs_one_draft_per_year", "county_id", "year", unique=True,
            postgresql_where=text("status = 'draft'"), sqlite_where=text("status = 'draft'"),
        ),
        Index(
            "uq_catalogs_one_published_per_year", "county_id", "year", unique=True,
            postgresql_where=text("status = 'published'"), sqlite_where=text("status = 'published'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    year: Mapped[int]
    version: Mapped[int]
    status: Mapped[CatalogStatus] = mapped_column(_enum(CatalogStatus), default=CatalogStatus.DRAFT, index=True)
    title: Mapped[str] = mapped_column(String(200))
    # The county's explanatory notes (the 注/说明 block under the table), as written.
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("catalogs.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    county: Mapped[Division] = relationship(lazy="joined")
    based_on: Mapped[Catalog | None] = relationship(remote_side=[id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    categories: Mapped[list[Category]] = relationship(
        back_populates="catalog", cascade="all, delete-orphan", order_by="Category.code"
    )
    items: Mapped[list[Item]] = relationship(
        back_populates="catalog", cascade="all, delete-orphan", order_by="Item.code"
    )

    @property
    def is_draft(self) -> bool:
        return self.status == CatalogStatus.DRAFT

    @property
    def is_public(self) -> bool:
        return self.status in (CatalogStatus.PUBLISHED, CatalogStatus.SUPERSEDED)


class Category(db.Model):
    """A catalog category of level 1, 2 or 3 with a hierarchical code (A, A01, A0101)."""

    __tablename__ = "catalog_categories"
    __table_args__ = (
        UniqueConstraint("catalog_id", "code"),
        UniqueConstraint("catalog_id", "parent_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_categories.id", ondelete="CASCADE"), index=True)
    level: Mapped[int]
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))

    catalog: Mapped[Catalog] = relationship(back_populates="categories")
    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(
        back_populates="parent", order_by="Category.code", cascade="all, delete-orphan"
    )
    items: Mapped[list[Item]] = relationship(back_populates="category", order_by="Item.code")

    @property
    def path(self) -> list[Category]:
        """The category and its ancestors, level 1 first."""
        path = []
        category: Category | None = self
        while category is not None:
            path.append(category)
            category = category.parent
        return list(reversed(path))


class Item(db.Model):
    """A purchasable service item, hanging under a level-3 category."""

    __tablename__ = "catalog_items"
    __table_args__ = (
        UniqueConstraint("catalog_id", "code"),
        UniqueConstraint("category_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("catalog_categories.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    service_content: Mapped[str] = mapped_column(Text, default="")
    purchasing_department: Mapped[str] = mapped_column(String(200), default="")
    # Sorted list of UndertakerType values.
    undertaker_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Per-type remarks from the county table, e.g. {"enterprise": "律师事务所"}.
    undertaker_notes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    mass_org_first: Mapped[bool] = mapped_column(default=False, index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    reference_budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))

    catalog: Mapped[Catalog] = relationship(back_populates="items")
    category: Mapped[Category] = relationship(back_populates="items")
