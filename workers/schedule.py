"""The beat schedule, in one place. Times are Asia/Shanghai (``timezone`` in
the Celery settings); every periodic task takes ``workers.locks.periodic_lock``
so two runs never overlap."""
from __future__ import annotations

import os
from datetime import timedelta

from celery.schedules import crontab

HEARTBEAT_SECONDS = float(os.environ.get("PROCURE_HEARTBEAT_SECONDS", "60"))
# Local hour of the daily digests (config DIGEST_HOUR; read here because the
# schedule is built before the app).
DIGEST_HOUR = int(os.environ.get("PROCURE_DIGEST_HOUR", "7"))

beat_schedule: dict[str, dict] = {
    # Proves beat is alive: records the time of the last beat (cheap).
    "heartbeat": {
        "task": "workers.tasks.heartbeat",
        "schedule": timedelta(seconds=HEARTBEAT_SECONDS),
        "options": {"expires": HEARTBEAT_SECONDS},
    },
    # Emails whose hand-off to the worker was lost, or that failed: again.
    "flush_outbox": {
        "task": "workers.tasks.flush_outbox",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    # Suspensions whose end date has passed are lifted (and the organization told).
    "expire_suspensions": {
        "task": "workers.tasks.expire_suspensions",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    # Registrations whose new account never confirmed its email: deleted
    # after UNCONFIRMED_REGISTRATION_DAYS (they hold no credit code meanwhile).
    "purge_unconfirmed_registrations": {
        "task": "workers.tasks.purge_unconfirmed_registrations",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    # New-tender alerts and deadline reminders: the planner writes the outbox
    # rows in batches (idempotent); every minute keeps reminders within
    # minutes of their time.
    "plan_alerts": {
        "task": "workers.tasks.plan_alerts",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    "plan_reminders": {
        "task": "workers.tasks.plan_reminders",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    "alerts_digest": {
        "task": "workers.tasks.alerts_digest",
        "schedule": crontab(hour=DIGEST_HOUR, minute=0),
        "options": {"expires": 3000},
    },
    "officer_digest": {
        "task": "workers.tasks.officer_digest",
        "schedule": crontab(hour=DIGEST_HOUR, minute=5),
        "options": {"expires": 3000},
    },
    # The embedded broker keeps delivered messages: deleted hourly.
    "prune_broker": {
        "task": "workers.tasks.prune_broker",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    # Challenges whose reply is overdue and contracts near or past their limit
    # are flagged to the county's officers (once each; idempotent, locked).
    "flag_overdue_challenges": {
        "task": "workers.tasks.flag_overdue_challenges",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 840},
    },
    "flag_contracts_due": {
        "task": "workers.tasks.flag_contracts_due",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    # Tenders whose bid deadline has passed are opened (idempotent, locked).
    "advance_tenders": {
        "task": "workers.tasks.advance_tenders",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
}
