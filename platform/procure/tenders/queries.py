"""Reads of tenders. Every page loads what it shows here, with a bounded
number of queries (eager loads), so templates never trigger loads."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from procure.bids.models import OpeningRecord
from procure.catalog.models import Category, Item
from procure.geo.models import Division
from procure.paging import Page, paginate
from procure.tenders.models import Question, Tender, TenderDocument, TenderStatus

PAGE_SIZE = 50


@dataclass
class OpenFilter:
    county: str = ""
    township: str = ""
    method: str = ""
    category: str = ""  # a category code prefix, e.g. A or A01
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None


def open_tenders(session: Session, flt: OpenFilter | None = None, *, limit: int = PAGE_SIZE) -> list[Tender]:
    """Tenders open for bids, nearest deadline first (one query: county,
    township and item are joined eagerly)."""
    flt = flt or OpenFilter()
    stmt = select(Tender).where(Tender.status == TenderStatus.TENDERING)
    if flt.county:
        stmt = stmt.where(Tender.county_id == select(Division.id).where(Division.code == flt.county).scalar_subquery())
    if flt.township:
        stmt = stmt.where(Tender.township_id == select(Division.id).where(Division.code == flt.township)
                          .scalar_subquery())
    if flt.method:
        stmt = stmt.where(Tender.method == flt.method)
    if flt.category:
        stmt = stmt.where(Tender.item_id.in_(
            select(Item.id).join(Category, Category.id == Item.category_id)
            .where(Category.code.startswith(flt.category, autoescape=True))))
    if flt.budget_min is not None:
        stmt = stmt.where(Tender.budget >= flt.budget_min)
    if flt.budget_max is not None:
        stmt = stmt.where(Tender.budget <= flt.budget_max)
    return list(session.scalars(stmt.order_by(Tender.bid_deadline, Tender.id).limit(limit)))


def public_tender(session: Session, tender_id: int) -> Tender | None:
    """A tender with its documents, amendments and questions (4 queries)."""
    return session.scalar(
        select(Tender).where(Tender.id == tender_id)
        .options(selectinload(Tender.documents), selectinload(Tender.amendments), selectinload(Tender.questions))
    )


def opening_record(session: Session, tender: Tender) -> list[OpeningRecord]:
    return list(session.scalars(select(OpeningRecord).where(OpeningRecord.tender_id == tender.id)
                                .order_by(OpeningRecord.submitted_at, OpeningRecord.id)))


def document(session: Session, tender_id: int, doc_id: int) -> TenderDocument | None:
    doc = session.get(TenderDocument, doc_id)
    return doc if doc is not None and doc.tender_id == tender_id else None


def question(session: Session, tender_id: int, question_id: int) -> Question | None:
    q = session.get(Question, question_id)
    return q if q is not None and q.tender_id == tender_id else None


def managed_tenders(session: Session, county_ids: set[int], township_ids: set[int], *, number: int,
                    per_page: int) -> Page:
    """One page of the tenders of the officer's counties and of a township
    officer's drafts, by state, then what is due first."""
    conditions = []
    if county_ids:
        conditions.append(Tender.county_id.in_(county_ids))
    if township_ids:
        conditions.append(Tender.township_id.in_(township_ids))
    if not conditions:
        return Page(items=[], total=0, number=1, per_page=per_page)
    from sqlalchemy import or_

    return paginate(session, select(Tender).where(or_(*conditions))
                    .order_by(Tender.status, Tender.next_due_at, Tender.id.desc()), number=number, per_page=per_page)


def unanswered_counts(session: Session, tender_ids: list[int]) -> dict[int, tuple[int, object]]:
    """{tender id: (unanswered questions, earliest answer due)} in one query."""
    if not tender_ids:
        return {}
    rows = session.execute(
        select(Question.tender_id, func.count(Question.id), func.min(Question.answer_due))
        .where(Question.tender_id.in_(tender_ids), Question.answered_at.is_(None))
        .group_by(Question.tender_id)
    ).all()
    return {tender_id: (count, due) for tender_id, count, due in rows}


ITEM_PICKER_LIMIT = 50


def items_for_tender(session: Session, county_ids: set[int], *, text: str = "",
                     limit: int = ITEM_PICKER_LIMIT) -> tuple[list[Item], int]:
    """Items of the current published catalogs of the counties (the catalog
    gate) whose code or name contains ``text``: the first ``limit`` in code
    order and how many match. Two queries after the catalogs' own, whatever the
    catalogs' size."""
    from procure.catalog import queries as catalog_queries
    from procure.catalog import search

    catalog_ids = [c.id for c in (catalog_queries.current_published(session, cid) for cid in sorted(county_ids)) if c]
    if not catalog_ids:
        return [], 0
    stmt = select(Item).where(Item.catalog_id.in_(catalog_ids))
    text = (text or "").strip()
    if text:  # the catalog's own search (its index where the database has one), or the item's code
        stmt = stmt.where(search.item_matches(session, text) | Item.code.startswith(text.upper(), autoescape=True))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(session.scalars(stmt.options(selectinload(Item.category))
                                 .order_by(Item.catalog_id, Item.code, Item.id).limit(limit)))
    return items, total


def remaining(deadline: datetime, now: datetime) -> tuple[int, int] | None:
    """Days and hours left before the deadline, or None when it has passed."""
    from procure.timeutil import as_utc

    seconds = int((as_utc(deadline) - now).total_seconds())
    if seconds <= 0:
        return None
    return seconds // 86400, (seconds % 86400) // 3600
