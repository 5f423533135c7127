"""Every periodic (beat) job, runnable once from the command line::

    flask --app procure jobs list
    flask --app procure jobs run plan_reminders --dry-run --now 2026-12-01T08:00:00+08:00

A job is ``fn(session, *, now, config, dry_run) -> list[str]`` (the lines it
prints). A dry run does the same work inside one transaction and rolls it
back: it prints exactly what it would send or change, and nothing is written
or emailed. The worker's tasks (``workers/tasks.py``) call the same functions.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

JobFn = Callable[..., list[str]]


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    fn: JobFn | None  # None: the job runs only in the worker (see description)


def _committer(session: Session, dry_run: bool) -> Callable[[], None]:
    return session.flush if dry_run else session.commit


def flush_outbox(session: Session, *, now: datetime, config: Mapping[str, Any], dry_run: bool) -> list[str]:
    from procure.notifications import delivery, services
    from procure.notifications.models import Notification

    ids = services.due_for_delivery(session, config=config, now=now)
    lines = [f"{len(ids)} email(s) due for (re)delivery"]
    for notification_id in ids[:50]:
        n = session.get(Notification, notification_id)
        lines.append(f"  #{n.id} {n.email_status} attempts={n.email_attempts} → {n.recipient_email} «{n.subject}»")
    session.rollback()
    if not dry_run and ids:
        outcomes = delivery.deliver_batch(ids, config=config, engine=session.get_bind())
        counts: dict[str, int] = {}
        for outcome in outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        lines.append(f"delivered: {counts}")
    return lines


def expire_suspensions(session: Session, *, now: datetime, config: Mapping[str, Any], dry_run: bool) -> list[str]:
    from procure.organizations import services as organizations

    today = now.astimezone(ZoneInfo(config["TIMEZONE"])).date()
    lifted = organizations.expire_suspensions(session, today=today)
    lines = [f"{len(lifted)} suspension(s) ended before {today}"]
    lines += [f"  lift: #{org.id} {org.name} (until {org.suspended_until})" for org in lifted]
    _committer(session, dry_run)()
    return lines


def purge_unconfirmed_registrations(session: Session, *, now: datetime, config: Mapping[str, Any],
                                    dry_run: bool) -> list[str]:
    from pathlib import Path

    from procure.organizations import services as organizations

    settings = organizations.UploadSettings(
        root=Path(config["INSTANCE_PATH"]) / "uploads" / "organizations",
        max_bytes=int(config["ORG_DOCUMENT_MAX_BYTES"]),
    )
    ttl = timedelta(days=float(config["UNCONFIRMED_REGISTRATION_DAYS"]))
    # A dry run passes no upload settings (no file is deleted) and is rolled back.
    purged = organizations.purge_unconfirmed_registrations(session, ttl=ttl, now=now,
                                                           settings=None if dry_run else settings)
    _committer(session, dry_run)()
    return [f"{purged} unconfirmed registration(s) older than {ttl.days} days {'to purge' if dry_run else 'purged'}"]


def prune_broker(session: Session, *, now: datetime, config: Mapping[str, Any], dry_run: bool) -> list[str]:
    from procure import queue

    age = int(config["BROKER_PRUNE_AGE"])
    count = queue.prune_broker(config, older_than_seconds=age, dry_run=dry_run)
    if not queue.is_embedded_broker(config["BROKER_URL"]):
        return ["broker is not the embedded one: nothing to prune"]
    return [f"{count} delivered broker message(s) older than {age}s {'to delete' if dry_run else 'deleted'}"]


def plan_alerts(session: Session, *, now: datetime, config: Mapping[str, Any], dry_run: bool) -> list[str]:
    from procure.alerts import planner

    return planner.plan_alerts(session, now=now, config=config, commit=_committer(session, dry_run)).lines


def plan_reminders(session: Session, *, now: datetime, config: Mapping[str, Any], dry_run: bool) -> list[str]:
    from procure.alerts import planner

    return planner.plan_reminders(session, now=now, config=config, commit=_committer(session, dry_run)).lines


def _previous_local_day(now: datetime, config: Mapping[str, Any]) -> tuple[datetime, datetime, str]:
    zone = ZoneInfo(config["TIMEZONE"])
    today = now.astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=1), time(0), zone)
    return start, start + timedelta(days=1), (today - timedelta(days=1)).isoformat()


def alerts_digest(session: Session, *, now: datetime, config: Mapping[str, Any], dry_run: bool) -> list[str]:
    from procure.alerts import planner

    start, end, label = _previous_local_day(now, config)
    return planner.plan_alerts_digest(session, now=now, config=config, commit=_committer(session, dry_run),
                                      day_start=start, day_end=end, day_label=label).lines


def officer_digest(session: Session, *, now: datetime, config: Mapping[str, Any], dry_run: bool) -> list[str]:
    from procure.alerts import digest

    label = now.astimezone(ZoneInfo(config["TIMEZONE"])).date().isoformat()
    return digest.plan_officer_digest(session, now=now, config=config, day_label=label,
                                      commit=_committer(session, dry_run)).lines


def advance_tenders(session: Session, *, now: datetime, config: Mapping[str, Any], dry_run: bool) -> list[str]:
    """Open the tenders whose bid deadline has passed, by the database clock
    (``now`` is not used: the deadline is the database server's)."""
    from procure.clock import db_now
    from procure.tenders import services as tenders

    results = tenders.advance_due(session, now=db_now(session), keys=config["SEAL_KEYS"])
    _committer(session, dry_run)()
    return [f"tender {tender_id}: {status}" for tender_id, status in sorted(results.items())] or ["nothing due"]


def flag_overdue_challenges(session: Session, *, now: datetime, config: Mapping[str, Any],
                            dry_run: bool) -> list[str]:
    from procure.challenges import services as challenges

    flagged = challenges.flag_overdue(session, now=now)
    _committer(session, dry_run)()
    return [f"challenge {c.id}: reply overdue (due {c.reply_due_at.isoformat()}), officers told" for c in flagged] \
        or ["no newly overdue challenge"]


def flag_contracts_due(session: Session, *, now: datetime, config: Mapping[str, Any], dry_run: bool) -> list[str]:
    from procure.contracts import services as contracts

    flagged = contracts.flag_due(session, contracts.ContractSettings.from_config(config), now=now)
    _committer(session, dry_run)()
    return [f"award {a.id} (tender {a.tender_id}): contract {a.contract_flag}, officers told" for a in flagged] \
        or ["no contract newly due"]


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("heartbeat", "records the time of the last beat (worker only: proves beat and a worker run)", None),
        Job("flush_outbox", "(re)delivers emails whose hand-off was lost, whose sender died or that failed", flush_outbox),
        Job("expire_suspensions", "lifts suspensions whose end date has passed", expire_suspensions),
        Job("purge_unconfirmed_registrations", "deletes registrations whose account never confirmed its email",
            purge_unconfirmed_registrations),
        Job("prune_broker", "deletes delivered messages from the embedded broker's table", prune_broker),
        Job("plan_alerts", "new-tender alerts to members who chose one email per tender", plan_alerts),
        Job("plan_reminders", "bid deadline reminders at REMINDER_OFFSETS_HOURS", plan_reminders),
        Job("alerts_digest", "yesterday's new tenders, to members who chose a daily digest", alerts_digest),
        Job("officer_digest", "officers' daily digest of due work", officer_digest),
        Job("advance_tenders", "opens the tenders whose bid deadline has passed (sealed bids)", advance_tenders),
        Job("flag_overdue_challenges", "tells officers of challenges whose reply is overdue (once each)",
            flag_overdue_challenges),
        Job("flag_contracts_due", "tells officers of contracts due within CONTRACT_WARNING_DAYS or overdue",
            flag_contracts_due),
    )
}


def run(name: str, session: Session, *, now: datetime, config: Mapping[str, Any], dry_run: bool) -> list[str]:
    job = JOBS[name]
    if job.fn is None:
        return [f"{name}: {job.description}; nothing to run here"]
    try:
        lines = job.fn(session, now=now, config=config, dry_run=dry_run)
    finally:
        if dry_run:
            session.rollback()
    return lines
