"""Celery tasks: thin. Load by id, call a service, commit. Each task runs in
the Flask app context (``workers.celery_app.AppTask``) and is sent by name
from the web with ``procure.queue.enqueue`` after the commit it depends on.

Tasks must be idempotent: with ``task_acks_late`` a task whose worker died is
delivered again. Periodic tasks (``workers.schedule``) take
``workers.locks.periodic_lock`` so they never overlap.

Add new tasks below with an explicit ``name="workers.tasks.<name>"``.
"""
from __future__ import annotations

import logging

from workers import health
from workers.celery_app import celery
from workers.locks import periodic_lock

log = logging.getLogger(__name__)


# -- periodic ---------------------------------------------------------------


@celery.task(name="workers.tasks.heartbeat")
def heartbeat() -> str | None:
    """Record the time of the last beat (proves beat and a worker are alive)."""
    with periodic_lock("heartbeat", timeout=60) as acquired:
        if not acquired:
            return None
        return health.record_heartbeat().isoformat()


# -- notifications ----------------------------------------------------------


class EmailNotSent(Exception):
    """The SMTP server did not take the email (recorded on the notification);
    raised so Celery retries the task with exponential back-off."""


@celery.task(
    name="workers.tasks.send_email",
    autoretry_for=(EmailNotSent,),
    retry_backoff=2,  # 0-2 s, 0-4 s, … (full jitter), at most 10 min apart
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_email(notification_id: int) -> str:
    """Send one notification's email (idempotent: a sent one is skipped)."""
    from procure.extensions import db
    from procure.notifications import delivery
    from procure.notifications import services as notifications
    from procure.notifications.models import Notification

    outcome = delivery.deliver_batch([notification_id])[notification_id]
    if outcome == "failed":
        attempts = db.session.get(Notification, notification_id).email_attempts
        db.session.rollback()
        if attempts < notifications.attempt_cap():
            raise EmailNotSent(f"notification {notification_id}: attempt {attempts} failed")
        log.error("notification %s: giving up after %s attempts", notification_id, attempts)
    return outcome


@celery.task(name="workers.tasks.send_email_batch", bind=True, max_retries=8)
def send_email_batch(self, notification_ids: list[int]) -> dict[str, int]:
    """Send a batch of emails over the process's one reused SMTP connection
    (``delivery.deliver_batch``: claim → send → mark). The ones that failed
    for a reason that may pass (4xx, connection) are retried as a smaller
    batch with exponential back-off; the outbox sweep covers what is left."""
    import random

    from procure.notifications import delivery

    outcomes = delivery.deliver_batch(notification_ids)
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    failed = [i for i, outcome in outcomes.items() if outcome == "failed"]
    if failed and self.request.retries < self.max_retries:
        countdown = random.uniform(0, min(2 ** (self.request.retries + 1), 600))
        raise self.retry(args=[failed], countdown=countdown)
    return counts


@celery.task(name="workers.tasks.flush_outbox")
def flush_outbox() -> int | None:
    """Hand on again the emails whose hand-off was lost, whose sender died or
    whose retries ran out (periodic; see ``services.due_for_delivery``)."""
    from procure.extensions import db
    from procure.notifications import services as notifications

    with periodic_lock("flush_outbox", timeout=300) as acquired:
        if not acquired:
            return None
        ids = notifications.due_for_delivery(db.session)
        db.session.rollback()
        for batch in notifications.batches(ids):
            send_email_batch.delay(batch)
        if ids:
            log.info("outbox: re-sent %s email(s) to the queue", len(ids))
        return len(ids)


# -- organizations ------------------------------------------------------------


@celery.task(name="workers.tasks.expire_suspensions")
def expire_suspensions() -> int | None:
    """Lift the suspensions whose end date has passed (periodic, idempotent)."""
    from flask import current_app

    from procure.extensions import db
    from procure.organizations import services as organizations

    with periodic_lock("expire_suspensions", timeout=600) as acquired:
        if not acquired:
            return None
        today = organizations.local_today(current_app.config["TIMEZONE"])
        lifted = organizations.expire_suspensions(db.session, today=today)
        db.session.commit()
        return len(lifted)


@celery.task(name="workers.tasks.purge_unconfirmed_registrations")
def purge_unconfirmed_registrations() -> int | None:
    """Delete the organization registrations whose new account never confirmed
    its email within UNCONFIRMED_REGISTRATION_DAYS (periodic, idempotent): they
    hold no credit code, and their unconfirmed accounts free their address."""
    from datetime import timedelta
    from pathlib import Path

    from flask import current_app

    from procure.extensions import db
    from procure.organizations import services as organizations

    with periodic_lock("purge_unconfirmed_registrations", timeout=600) as acquired:
        if not acquired:
            return None
        settings = organizations.UploadSettings(
            root=Path(current_app.instance_path) / "uploads" / "organizations",
            max_bytes=int(current_app.config["ORG_DOCUMENT_MAX_BYTES"]),
        )
        ttl = timedelta(days=float(current_app.config["UNCONFIRMED_REGISTRATION_DAYS"]))
        purged = organizations.purge_unconfirmed_registrations(db.session, ttl=ttl, settings=settings)
        db.session.commit()
        if purged:
            log.info("purged %s unconfirmed organization registration(s)", purged)
        return purged


# -- jobs of procure.jobs (planner, digests, broker pruning) -------------------


def _run_job(name: str, timeout: float, now: str | None = None) -> list[str] | None:
    """Run the job at ``now`` (an ISO time with its zone, as ``flask jobs run
    --now``; beat passes none: the current time)."""
    from datetime import datetime

    from flask import current_app

    from procure import jobs
    from procure.extensions import db
    from procure.timeutil import as_utc, utcnow

    with periodic_lock(name, timeout=timeout) as acquired:
        if not acquired:
            return None
        moment = as_utc(datetime.fromisoformat(now)) if now else utcnow()
        lines = jobs.run(name, db.session, now=moment, config=current_app.config, dry_run=False)
        for line in lines:
            log.info("%s: %s", name, line)
        return lines


@celery.task(name="workers.tasks.plan_alerts")
def plan_alerts(now: str | None = None) -> list[str] | None:
    """New-tender alerts (one email per tender), in batches, idempotent."""
    return _run_job("plan_alerts", timeout=600, now=now)


@celery.task(name="workers.tasks.plan_reminders")
def plan_reminders(now: str | None = None) -> list[str] | None:
    """Bid deadline reminders at the configured offsets, in batches, idempotent."""
    return _run_job("plan_reminders", timeout=600, now=now)


@celery.task(name="workers.tasks.alerts_digest")
def alerts_digest(now: str | None = None) -> list[str] | None:
    return _run_job("alerts_digest", timeout=1800, now=now)


@celery.task(name="workers.tasks.officer_digest")
def officer_digest(now: str | None = None) -> list[str] | None:
    return _run_job("officer_digest", timeout=1800, now=now)


@celery.task(name="workers.tasks.prune_broker")
def prune_broker() -> list[str] | None:
    """Delete delivered messages from the embedded broker's table."""
    return _run_job("prune_broker", timeout=600)


# -- tenders ----------------------------------------------------------------------


@celery.task(name="workers.tasks.advance_tenders")
def advance_tenders() -> list[str] | None:
    """Open the due tenders (periodic, every minute; never overlapping)."""
    return _run_job("advance_tenders", timeout=600)


# -- challenges and contracts -------------------------------------------------------


@celery.task(name="workers.tasks.flag_overdue_challenges")
def flag_overdue_challenges() -> list[str] | None:
    """Tell the officers of challenges whose reply is overdue (once each)."""
    return _run_job("flag_overdue_challenges", timeout=600)


@celery.task(name="workers.tasks.flag_contracts_due")
def flag_contracts_due() -> list[str] | None:
    """Tell the officers of contracts due within the warning days or overdue (once per flag)."""
    return _run_job("flag_contracts_due", timeout=600)
