"""``periodic_lock(name, timeout)``: periodic jobs never overlap.

Two backends, chosen by the broker, because the lock must be visible to every
process that may run the job:

* Redis broker (production, compose): a Redis lock (``SET NX PX``) that
  expires after ``timeout`` seconds, so a worker killed while holding it
  cannot block the job for ever. Keep ``timeout`` above the job's longest run.
* Embedded broker (kombu's SQLAlchemy transport on a SQLite file, ``make
  run``): an ``flock`` on ``instance/locks/<name>.lock``. The embedded broker
  is a local file, so every worker that can take the job runs on this machine
  and shares ``instance/``; the kernel drops the lock when its holder exits or
  dies, so it never needs a timeout (``timeout`` is ignored). A database row
  lock was not chosen: SQLite has no row locks, and a lock row with an expiry
  would need its own table and clean-up for what ``flock`` does for free.

Non-blocking: the second caller does not wait, it is told it did not get it::

    with periodic_lock("flush_outbox", timeout=300) as acquired:
        if not acquired:
            return  # another run is still busy
        ...
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flask import current_app

log = logging.getLogger(__name__)

_redis_clients: dict[str, object] = {}
_redis_guard = threading.Lock()


def redis_client():
    """The Redis client of the broker, or None when the broker is not Redis."""
    url = current_app.config["BROKER_URL"]
    if not url.startswith(("redis://", "rediss://")):
        return None
    client = _redis_clients.get(url)
    if client is None:
        import redis

        with _redis_guard:
            client = _redis_clients.setdefault(url, redis.Redis.from_url(url))
    return client


def key(name: str) -> str:
    """Redis key / file name of ``name``, namespaced by the task queue (tests
    and several deployments may share one Redis database)."""
    return f"procure:{current_app.config['TASK_QUEUE']}:{name}"


def state_dir() -> Path:
    path = Path(current_app.config["INSTANCE_PATH"]) / "locks"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def periodic_lock(name: str, timeout: float) -> Iterator[bool]:
    """Hold the lock ``name`` for the ``with`` block if nobody else does;
    yields whether it was acquired."""
    client = redis_client()
    if client is not None:
        lock = client.lock(key(f"lock:{name}"), timeout=timeout, blocking=False)
        acquired = lock.acquire()
        try:
            yield acquired
        finally:
            if acquired:
                try:
                    lock.release()
                except Exception:  # expired meanwhile: someone else may hold it now
                    log.warning("periodic lock %s expired before release (timeout %ss)", name, timeout)
        return
    path = state_dir() / f"{key(name).replace(':', '.')}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
