"""Reads of administrative divisions."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from procure.geo.models import Division, DivisionLevel


def by_code(session: Session, code: str) -> Division | None:
    return session.scalar(select(Division).where(Division.code == code))


def county_by_code(session: Session, code: str) -> Division | None:
    return session.scalar(
        select(Division).where(Division.code == code, Division.level == DivisionLevel.COUNTY)
    )


def townships_of(session: Session, county: Division) -> list[Division]:
    return list(
        session.scalars(
            select(Division)
            .where(Division.parent_id == county.id, Division.level == DivisionLevel.TOWNSHIP)
            .order_by(Division.code)
        )
    )


def counties(session: Session) -> list[Division]:
    return list(
        session.scalars(select(Division).where(Division.level == DivisionLevel.COUNTY).order_by(Division.code))
    )


def divisions_by_ids(session: Session, ids) -> list[Division]:
    """The divisions with these ids, by code."""
    ids = list(ids)
    if not ids:
        return []
    # With their city and province (``full_name``), joined: no load from a template.
    return list(session.scalars(
        select(Division).where(Division.id.in_(ids)).order_by(Division.code)
        .options(joinedload(Division.parent).joinedload(Division.parent))
    ))
