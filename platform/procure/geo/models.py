"""Administrative divisions: province → city → county → township."""
from __future__ import annotations

import enum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procure.extensions import db


class DivisionLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


LEVEL_ORDER = [DivisionLevel.PROVINCE, DivisionLevel.CITY, DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP]


class Division(db.Model):
    """One administrative unit, identified by its statistical division code."""

    __tablename__ = "divisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[DivisionLevel] = mapped_column(
        Enum(DivisionLevel, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        index=True,
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)

    parent: Mapped[Division | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Division]] = relationship(back_populates="parent", order_by="Division.code")

    @property
    def full_name(self) -> str:
        names = []
        node: Division | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "".join(reversed(names))

    def __repr__(self) -> str:
        return f"<Division {self.code} {self.name}>"
