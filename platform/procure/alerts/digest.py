"""Officers' daily digest of due work: one email per officer and day listing
what waits for them, from registered *due-work sources* (pending organization
reviews today; tenders opening, questions, challenge replies and contracts
register theirs explicitly in ``procure.web``)::

    digest.register_due_work(lambda session, county_ids, now, config: [DueWork(...)])
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from procure.accounts.models import Role, RoleAssignment, User
from procure.alerts import preferences
from procure.alerts.planner import PlanReport
from procure.notifications import services as notifications
from procure.organizations.models import Organization
from procure.organizations.queries import REVIEW_STATUSES


@dataclass(frozen=True)
class DueWork:
    label: str  # shown in the email, in the officer's language (a lazy string)
    count: int
    link: str  # site path


DueWorkSource = Callable[[Session, set[int], datetime, Mapping[str, Any]], Iterable[DueWork]]
_sources: list[DueWorkSource] = []


def register_due_work(source: DueWorkSource) -> None:
    if source not in _sources:
        _sources.append(source)


def pending_reviews(session: Session, county_ids: set[int], now: datetime,
                    config: Mapping[str, Any] | None = None) -> list[DueWork]:
    count = session.scalar(
        select(func.count(Organization.id)).where(
            Organization.county_id.in_(county_ids or {-1}), Organization.status.in_(REVIEW_STATUSES)
        )
    ) or 0
    return [DueWork(label=_l("待审核的机构注册"), count=count, link="/manage/organizations")] if count else []


register_due_work(pending_reviews)


def officers(session: Session) -> dict[int, tuple[notifications.Recipient, set[int]]]:
    """Every active county officer with the counties they serve."""
    result: dict[int, tuple[notifications.Recipient, set[int]]] = {}
    rows = session.execute(
        select(User.id, User.email, User.name, User.locale, RoleAssignment.division_id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.COUNTY_OFFICER, User.active.is_(True), RoleAssignment.division_id.is_not(None))
        .order_by(User.id)
    )
    for user_id, email, name, locale, division_id in rows:
        recipient = notifications.Recipient(user_id=user_id, email=email, name=name, locale=locale)
        result.setdefault(user_id, (recipient, set()))[1].add(division_id)
    return result


def plan_officer_digest(session: Session, *, now: datetime, config: Mapping[str, Any], day_label: str,
                        commit: Callable[[], None]) -> PlanReport:
    report = PlanReport()
    people = officers(session)
    wanted = preferences.values_for(session, list(people), preferences.OFFICER_DIGEST)
    for user_id, (recipient, county_ids) in people.items():
        if wanted[user_id] != preferences.ON:
            continue
        items = [w for source in _sources for w in source(session, county_ids, now, config)]
        if not items:
            continue
        # Labels in the officer's language (the email is rendered in it too).
        with force_locale(notifications.choose_locale(recipient.locale, config)):
            labels = [str(w.label) for w in items]
        written = notifications.notify_many(
            session, event_key=f"officer-digest:{day_label}", template="officer_digest",
            context={"day": day_label, "items": [{"label": label, "count": w.count,
                                                  "link": notifications.absolute_url(w.link, config)}
                                                 for label, w in zip(labels, items)]},
            recipients=[recipient], link="/manage/organizations", unsubscribe_kind=preferences.OFFICER_DIGEST,
        )
        report.add(f"officer digest {day_label} → {recipient.email}: "
                   + ", ".join(f"{w.label} {w.count}" for w in items) + ("" if written else " (already sent)"),
                   len(written))
    commit()
    if not report.lines:
        report.add(f"officer digest {day_label}: nothing due")
    return report
