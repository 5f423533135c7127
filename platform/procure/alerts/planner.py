"""The planner: decides who is due for a new-tender alert or a deadline
reminder and writes their outbox rows in batches (beat jobs, never a web
request).

It is generic: it knows *subjects* (a tender, later anything with a county,
category codes and a deadline), not tenders. A domain registers where its
subjects come from::

    from procure.alerts import planner

    planner.register_alert_source(lambda session, since, now: [...Subject...])
    planner.register_reminder_source(lambda session, now, horizon: [...Subject...])

Idempotent: the event key of an alert is ``alert:<subject key>`` and of a
reminder ``reminder:<subject key>:<offset>h``; with the recipient's address
it is the notification's unique key (``notifications`` table), so a re-run,
an overlapping run or a crash between two batches never sends one twice.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from procure.accounts.models import Role, RoleAssignment, User
from procure.alerts import preferences
from procure.alerts.models import OrganizationFollow
from procure.notifications import services as notifications
from procure.notifications.models import Notification
from procure.organizations.models import Organization, OrgStatus, OrgType
from procure.timeutil import as_utc, localtime


@dataclass(frozen=True)
class Subject:
    """Something organizations hear about: ``key`` is unique and stable
    (e.g. "tender:42"); ``category_codes`` are the codes of its category and
    their parents (A, A01, A0101), matched against follows."""

    key: str
    county_id: int
    category_codes: tuple[str, ...]
    title: str
    link: str
    published_at: datetime
    deadline: datetime | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    # Organizations that hear about it without following (e.g. a draft bid)
    # and organizations that no longer need reminders (they submitted).
    extra_organization_ids: frozenset[int] = frozenset()
    done_organization_ids: frozenset[int] = frozenset()
    cancelled: bool = False
    # Who may take part at all: only organizations of these types
    # (``Organization.org_type`` values; None: any type) and of this county
    # (None: any county). Applies to followers and extra organizations alike.
    allowed_org_types: frozenset[str] | None = None
    organization_county_id: int | None = None


AlertSource = Callable[[Session, datetime, datetime], Iterable[Subject]]
ReminderSource = Callable[[Session, datetime, datetime], Iterable[Subject]]
_alert_sources: list[AlertSource] = []
_reminder_sources: list[ReminderSource] = []


def register_alert_source(source: AlertSource) -> None:
    """``source(session, since, now)``: subjects published in [since, now)."""
    if source not in _alert_sources:
        _alert_sources.append(source)


def register_reminder_source(source: ReminderSource) -> None:
    """``source(session, now, horizon)``: open subjects whose deadline is in [now, horizon)."""
    if source not in _reminder_sources:
        _reminder_sources.append(source)


def alert_sources() -> list[AlertSource]:
    return list(_alert_sources)


def reminder_sources() -> list[ReminderSource]:
    return list(_reminder_sources)


# Organizations that may take part (verified; a suspension ended is lifted by its own job).
ELIGIBLE_STATUSES = (OrgStatus.VERIFIED,)
MEMBER_ROLES = (Role.ORG_ADMIN, Role.ORG_MEMBER)


def audience(session: Session, subject: Subject) -> list[tuple[int, notifications.Recipient]]:
    """(organization id, member) of every active, confirmed member of an
    eligible organization that follows the subject's county or one of its
    category codes, or is listed in ``extra_organization_ids``; restricted to
    the subject's ``allowed_org_types`` and ``organization_county_id`` when
    given. One query."""
    follows = or_(
        (OrganizationFollow.county_id == subject.county_id) & (OrganizationFollow.category_code == ""),
        (OrganizationFollow.county_id == subject.county_id)
        & OrganizationFollow.category_code.in_(subject.category_codes or ("",)),
    )
    following = select(OrganizationFollow.organization_id).where(follows)
    org_filter = Organization.id.in_(following)
    if subject.extra_organization_ids:
        org_filter = or_(org_filter, Organization.id.in_(sorted(subject.extra_organization_ids)))
    rows = session.execute(
        select(RoleAssignment.organization_id, User.id, User.email, User.name, User.locale)
        .join(User, User.id == RoleAssignment.user_id)
        .join(Organization, Organization.id == RoleAssignment.organization_id)
        .where(
            RoleAssignment.role.in_(MEMBER_ROLES),
            Organization.status.in_(ELIGIBLE_STATUSES),
            org_filter,
            *_who_may_take_part(subject),
            User.active.is_(True),
            User.email_confirmed_at.is_not(None),
        )
        .order_by(User.id)
    ).all()
    seen: set[int] = set()
    result = []
    for org_id, user_id, email, name, locale in rows:
        if user_id in seen or org_id in subject.done_organization_ids:
            continue
        seen.add(user_id)
        result.append((org_id, notifications.Recipient(user_id=user_id, email=email, name=name, locale=locale)))
    return result


def _who_may_take_part(subject: Subject) -> list:
    conditions = []
    if subject.allowed_org_types is not None:
        if subject.allowed_org_types:
            conditions.append(Organization.org_type.in_([OrgType(t) for t in sorted(subject.allowed_org_types)]))
        else:  # no type may take part
            conditions.append(false())
    if subject.organization_county_id is not None:
        conditions.append(Organization.county_id == subject.organization_county_id)
    return conditions


@dataclass
class PlanReport:
    """What a run wrote (or, in a dry run, would write)."""

    lines: list[str] = field(default_factory=list)
    notifications: int = 0

    def add(self, line: str, count: int = 0) -> None:
        self.lines.append(line)
        self.notifications += count


def _fan_out(session: Session, commit: Callable[[], None], *, event_key: str, template: str,
             context: Mapping[str, Any], recipients: list[notifications.Recipient], link: str,
             unsubscribe_kind: str, batch_size: int) -> list[str]:
    """Write the rows in batches of ``batch_size``, committing each (so each
    batch's emails go out while the next is rendered). Idempotent. Returns
    the addresses newly written (what a dry run shows)."""
    written: list[str] = []
    for start in range(0, len(recipients), batch_size):
        ids = set(notifications.notify_many(
            session, event_key=event_key, template=template, context=context,
            recipients=recipients[start:start + batch_size], link=link, unsubscribe_kind=unsubscribe_kind,
        ))
        if ids:
            written += list(session.scalars(
                select(Notification.recipient_email).where(Notification.id.in_(sorted(ids)))
                .order_by(Notification.id)))
        commit()
    return written


SHOWN_RECIPIENTS = 20  # addresses listed per subject in a run's report (a dry run shows who would get it)


def _report_fan_out(report: PlanReport, line: str, written: list[str], total: int) -> None:
    report.add(f"{line}: {len(written)} new of {total} recipients", len(written))
    for address in written[:SHOWN_RECIPIENTS]:
        report.lines.append(f"  → {address}")
    if len(written) > SHOWN_RECIPIENTS:
        report.lines.append(f"  → … and {len(written) - SHOWN_RECIPIENTS} more")


def _local(value: datetime | None, config: Mapping[str, Any]) -> str:
    return localtime(value, config["TIMEZONE"]).strftime("%Y-%m-%d %H:%M") if value else ""


def _subject_context(subject: Subject, config: Mapping[str, Any]) -> dict[str, Any]:
    return {"subject_title": subject.title, "deadline": _local(subject.deadline, config), **subject.context}


def plan_reminders(session: Session, *, now: datetime, config: Mapping[str, Any],
                   commit: Callable[[], None]) -> PlanReport:
    """Deadline reminders: for each open subject, the latest offset (hours
    before its deadline, REMINDER_OFFSETS_HOURS) whose time has come, to the
    members who want reminders and whose organization has not submitted. An
    offset missed while the planner was down is replaced by the next one
    (nobody gets a "72 h" reminder 20 h before the deadline)."""
    report = PlanReport()
    offsets = sorted(int(h) for h in config["REMINDER_OFFSETS_HOURS"])
    if not offsets:
        return report
    horizon = now + timedelta(hours=max(offsets), minutes=1)  # a deadline exactly at the largest offset is due
    batch = int(config.get("PLANNER_BATCH_SIZE") or 500)
    for source in reminder_sources():
        for subject in source(session, now, horizon):
            if subject.cancelled or subject.deadline is None:
                continue
            deadline = as_utc(subject.deadline)
            if deadline <= now:
                continue
            due = [h for h in offsets if deadline - timedelta(hours=h) <= now]
            if not due:
                continue
            offset = min(due)
            members = [r for _, r in audience(session, subject)]
            wanted = preferences.values_for(session, [r.user_id for r in members], preferences.DEADLINE_REMINDERS)
            recipients = [r for r in members if wanted[r.user_id] == preferences.ON]
            written = _fan_out(
                session, commit, event_key=f"reminder:{subject.key}:{offset}h", template="deadline_reminder",
                context={**_subject_context(subject, config), "hours": offset}, recipients=recipients, link=subject.link,
                unsubscribe_kind=preferences.DEADLINE_REMINDERS, batch_size=batch,
            )
            _report_fan_out(report, f"reminder {offset}h {subject.key} «{subject.title}»", written, len(recipients))
    if not reminder_sources():
        report.add("no reminder sources registered (no tenders yet)")
    return report


def plan_alerts(session: Session, *, now: datetime, config: Mapping[str, Any],
                commit: Callable[[], None], lookback: timedelta = timedelta(days=2)) -> PlanReport:
    """New-subject alerts, one email per subject, to the members who chose
    "each". Looks back ``lookback`` so a planner that was down catches up;
    the event key makes the repeat harmless."""
    report = PlanReport()
    batch = int(config.get("PLANNER_BATCH_SIZE") or 500)
    for source in alert_sources():
        for subject in source(session, now - lookback, now):
            if subject.cancelled:
                continue
            members = [r for _, r in audience(session, subject)]
            wanted = preferences.values_for(session, [r.user_id for r in members], preferences.TENDER_ALERTS)
            recipients = [r for r in members if wanted[r.user_id] == preferences.EACH]
            written = _fan_out(
                session, commit, event_key=f"alert:{subject.key}", template="tender_alert",
                context=_subject_context(subject, config), recipients=recipients, link=subject.link,
                unsubscribe_kind=preferences.TENDER_ALERTS, batch_size=batch,
            )
            _report_fan_out(report, f"alert {subject.key} «{subject.title}»", written, len(recipients))
    if not alert_sources():
        report.add("no alert sources registered (no tenders yet)")
    return report


def plan_alerts_digest(session: Session, *, now: datetime, config: Mapping[str, Any],
                       commit: Callable[[], None], day_start: datetime, day_end: datetime,
                       day_label: str) -> PlanReport:
    """The daily digest for members who chose "digest": one email listing
    the subjects of [day_start, day_end) that their organization follows."""
    report = PlanReport()
    per_user: dict[int, tuple[notifications.Recipient, list[Subject]]] = {}
    for source in alert_sources():
        for subject in source(session, day_start, day_end):
            if subject.cancelled:
                continue
            for _, recipient in audience(session, subject):
                per_user.setdefault(recipient.user_id, (recipient, []))[1].append(subject)
    wanted = preferences.values_for(session, list(per_user), preferences.TENDER_ALERTS)
    written = 0
    for user_id, (recipient, subjects) in per_user.items():
        if wanted[user_id] != preferences.DIGEST:
            continue
        written += len(notifications.notify_many(
            session, event_key=f"alerts-digest:{day_label}", template="alerts_digest",
            context={"day": day_label, "subjects": [{"title": s.title, "link": notifications.absolute_url(s.link, config),
                                                     "deadline": _local(s.deadline, config)}
                                                    for s in subjects]},
            recipients=[recipient], link="/", unsubscribe_kind=preferences.TENDER_ALERTS,
        ))
        if written and written % int(config.get("PLANNER_BATCH_SIZE") or 500) == 0:
            commit()
    commit()
    report.add(f"alerts digest {day_label}: {written} new", written)
    return report
