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
