"""Tenders as subjects of the planner (new-tender alerts, bid deadline
reminders) and as officers' due work. Registered explicitly by
``procure.web.init_app`` (``register()``), never as an import side effect.

- Alert source: tenders published in [since, now) that are tendering (or
  cancelled since: flagged, so the planner sends nothing for them).
- Reminder source: tendering tenders whose bid deadline is in [now, horizon).
  The subject key carries the deadline (``tender:42:d<epoch>``), so an
  amendment that moves the deadline plans the reminders afresh; a cancelled
  tender is no longer tendering and gets none.
- Audience: followers of the tender's county or of the item's category (or
  a parent category), plus organizations holding a draft or withdrawn bid;
  only organizations of the tender's county whose type is one of the
  tender's undertaker types (as ``bids.services.may_bid``). Organizations
  whose submitted bid counts (submitted or confirmed after the latest
  amendment) are done: no more reminders.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from procure.alerts import digest, planner
from procure.bids.models import Bid, BidStatus
from procure.organizations.models import UNDERTAKER_TYPE
from procure.tenders.models import Question, Tender, TenderStatus
from procure.timeutil import as_utc, localtime


def category_codes(tender: Tender) -> tuple[str, ...]:
    """The item's category code and its parents' (A, A01, A0101)."""
    category = tender.item.category if tender.item is not None else None
    return tuple(c.code for c in category.path) if category is not None else ()


def allowed_org_types(tender: Tender) -> frozenset[str]:
    """The organization types whose undertaker type the tender accepts."""
    accepted = set(tender.undertaker_types or ())
    return frozenset(org_type for org_type, kind in UNDERTAKER_TYPE.items() if kind in accepted)


def deadline_version(tender: Tender) -> str:
    return f"d{int(as_utc(tender.bid_deadline).timestamp())}" if tender.bid_deadline else "d-"


def _bid_states(session: Session, tenders: list[Tender]) -> dict[int, tuple[set[int], set[int]]]:
    """{tender id: (organizations holding a draft or withdrawn bid, organizations
    whose submitted bid counts)} in one query."""
    out: dict[int, tuple[set[int], set[int]]] = {t.id: (set(), set()) for t in tenders}
    if not tenders:
        return out
    amendments = {t.id: t.amendment_count for t in tenders}
    rows = session.execute(
        select(Bid.tender_id, Bid.organization_id, Bid.status, Bid.confirmed_amendments)
        .where(Bid.tender_id.in_(sorted(amendments)))
    ).all()
    for tender_id, org_id, status, confirmed in rows:
        holding, done = out[tender_id]
        if status == BidStatus.SUBMITTED and confirmed >= amendments[tender_id]:
            done.add(org_id)
        else:  # a draft, a withdrawn bid, or a bid to confirm after an amendment
            holding.add(org_id)
    return out


def subject_for(tender: Tender, *, key: str, holding: Iterable[int] = (), done: Iterable[int] = ()) -> planner.Subject:
    return planner.Subject(
        key=key,
        county_id=tender.county_id,
        category_codes=category_codes(tender),
        title=tender.title,
        link=f"/tenders/{tender.id}",
        published_at=as_utc(tender.published_at),
        deadline=as_utc(tender.bid_deadline) if tender.bid_deadline else None,
        context={"public_number": tender.public_number or ""},
        extra_organization_ids=frozenset(holding),
        done_organization_ids=frozenset(done),
        cancelled=tender.status == TenderStatus.CANCELLED,
        allowed_org_types=allowed_org_types(tender),
        organization_county_id=tender.county_id,
    )


def alert_subjects(session: Session, since: datetime, now: datetime) -> list[planner.Subject]:
    """Tenders published in [since, now): tendering, or cancelled (flagged)."""
    tenders = list(session.scalars(
        select(Tender).where(
            Tender.published_at >= as_utc(since), Tender.published_at < as_utc(now),
            Tender.status.in_((TenderStatus.TENDERING, TenderStatus.CANCELLED)),
        ).order_by(Tender.published_at, Tender.id)
    ))
    states = _bid_states(session, tenders)
    return [subject_for(t, key=f"tender:{t.id}", holding=states[t.id][0], done=states[t.id][1]) for t in tenders]


def reminder_subjects(session: Session, now: datetime, horizon: datetime) -> list[planner.Subject]:
    """Tendering tenders whose bid deadline is in [now, horizon); the key
    names the deadline, so a moved deadline is planned afresh."""
    tenders = list(session.scalars(
        select(Tender).where(
            Tender.status == TenderStatus.TENDERING,
            Tender.bid_deadline >= as_utc(now), Tender.bid_deadline < as_utc(horizon),
        ).order_by(Tender.bid_deadline, Tender.id)
    ))
    states = _bid_states(session, tenders)
    return [subject_for(t, key=f"tender:{t.id}:{deadline_version(t)}", holding=states[t.id][0],
                        done=states[t.id][1]) for t in tenders]


# --- officers' due work ----------------------------------------------------------------


def _local_day_bounds(now: datetime, tz: str) -> tuple[datetime, datetime]:
    local = localtime(now, tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return as_utc(start), as_utc(start + timedelta(days=1))


def opening_today(session: Session, county_ids: set[int], now: datetime,
                  config: Mapping[str, Any]) -> list[digest.DueWork]:
    """Tendering tenders whose bid deadline falls on today's local date."""
    start, end = _local_day_bounds(now, config["TIMEZONE"])
    count = session.scalar(
        select(func.count(Tender.id)).where(
            Tender.county_id.in_(county_ids or {-1}), Tender.status == TenderStatus.TENDERING,
            Tender.bid_deadline >= start, Tender.bid_deadline < end,
        )
    ) or 0
    return [digest.DueWork(label=_l("今日开标的项目"), count=count, link="/manage/tenders")] if count else []


def questions_to_answer(session: Session, county_ids: set[int], now: datetime,
                        config: Mapping[str, Any]) -> list[digest.DueWork]:
    """Unanswered questions on the county's tenders that are still open to them."""
    count = session.scalar(
        select(func.count(Question.id)).join(Tender, Tender.id == Question.tender_id).where(
            Tender.county_id.in_(county_ids or {-1}), Question.answered_at.is_(None),
            Tender.status == TenderStatus.TENDERING,
        )
    ) or 0
    return [digest.DueWork(label=_l("待回复的提问"), count=count, link="/manage/tenders")] if count else []


def register() -> None:
    planner.register_alert_source(alert_subjects)
    planner.register_reminder_source(reminder_subjects)
    digest.register_due_work(opening_today)
    digest.register_due_work(questions_to_answer)

