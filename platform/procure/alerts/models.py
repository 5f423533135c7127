"""What organizations follow (categories and counties), for new-tender alerts
and deadline reminders; members choose how they hear about it in
``notifications.models.EmailPreference``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.extensions import db
from procure.geo.models import Division
from procure.timeutil import utcnow


class OrganizationFollow(db.Model):
    """The organization follows a county (``category_code`` empty: every
    tender of the county) or one category of the county's catalog
    (``category_code`` e.g. "A01": tenders of items under that code, in any
    version of the catalog). Category codes, not category rows, because each
    catalog version has its own rows."""

    __tablename__ = "organization_follows"
    __table_args__ = (UniqueConstraint("organization_id", "county_id", "category_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    category_code: Mapped[str] = mapped_column(String(16), default="")
    category_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    county: Mapped[Division] = relationship(lazy="joined")

    @property
    def is_county(self) -> bool:
        return not self.category_code
