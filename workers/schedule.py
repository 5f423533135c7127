"""The beat schedule, in one place. Times are Asia/Shanghai (``timezone`` in
the Celery settings); every periodic task takes ``workers.locks.periodic_lock``
so two runs never overlap."""
from __future__ import annotations

import os
from datetime import timedelta

HEARTBEAT_SECONDS = float(os.environ.get("PROCURE_HEARTBEAT_SECONDS", "60"))

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
}
