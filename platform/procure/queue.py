"""Enqueue background tasks by name, without importing ``workers``.

``procure`` never imports ``workers`` (the worker imports ``procure``). The web
sends a task by its name through a small Celery *client* app built from the
same settings the worker uses (``celery_settings``), so both always agree on
broker, queue and serializer.

Send tasks only after the database transaction they depend on has committed:
the worker may pick the message up at once, and must see the committed rows.
Domain code does not call ``enqueue`` itself: e.g. ``notifications.services.notify``
records the email in the caller's transaction, and an after-commit hook
(``install_delivery_hooks``) enqueues ``workers.tasks.send_email`` with its id;
the periodic ``flush_outbox`` job re-sends what a lost enqueue left behind.

Arguments must be JSON-serialisable (ids, not objects).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Mapping

from flask import current_app
from kombu.transport import redis as redis_transport

_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def celery_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """Celery settings derived from the Flask config; shared by the worker app
    (``workers.celery_app``) and the enqueue-only client here."""
    broker_url = config["BROKER_URL"]
    settings: dict[str, Any] = {
        "broker_url": broker_url,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": config["TASK_QUEUE"],
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        # No result backend: tasks write their effects to the database.
        "task_ignore_result": True,
        "result_backend": None,
        "result_expires": None,  # no daily celery.backend_cleanup entry in beat
        # A task is acknowledged when it finished, and redelivered if the
        # worker process died under it (tasks must be idempotent).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "timezone": config["TIMEZONE"],
        "enable_utc": True,
        "beat_schedule_filename": str(Path(config["INSTANCE_PATH"]) / "celerybeat-schedule"),
    }
    if is_embedded_broker(broker_url):
        # kombu's SQLAlchemy transport has no fanout: no remote control,
        # gossip or mingle (they would only poll tables for nothing). A generous
        # SQLite busy timeout lets web, worker and beat write the file at once.
        settings["worker_enable_remote_control"] = False
        # (kombu hands every transport option of this transport to
        # sqlalchemy.create_engine, so only engine arguments belong here.)
        settings["broker_transport_options"] = {"connect_args": {"timeout": 30}}
    elif broker_url.startswith(("redis://", "rediss://")):
        # A task running longer than this would be delivered twice (acks_late).
        settings["broker_transport_options"] = {"visibility_timeout": 3600}
    return settings


def is_embedded_broker(broker_url: str) -> bool:
    return broker_url.startswith(("sqla+", "sqlalchemy+"))


def prepare_broker(config: Mapping[str, Any]) -> None:
    """Make the embedded broker ready before several processes use it: the
    SQLite file in WAL mode (readers never block the one writer; the mode is
    stored in the file) and kombu's tables created once (two processes
    creating them at the same moment would fail). No-op for Redis."""
    broker_url = config["BROKER_URL"]
    if not is_embedded_broker(broker_url):
        return
    import fcntl
    import sqlite3

    from kombu import Connection
    from sqlalchemy.engine import make_url

    db_url = make_url(broker_url.split("+", 1)[1])
    options = celery_settings(config)["broker_transport_options"]
    lock_path = Path(config["INSTANCE_PATH"]) / "broker.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if db_url.get_backend_name() == "sqlite" and db_url.database not in (None, "", ":memory:"):
            Path(db_url.database).parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(db_url.database, timeout=30) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.close()
        with Connection(broker_url, transport_options=options) as connection:
            channel = connection.channel()
            try:
                channel.session  # opens the engine and creates kombu's tables
            finally:
                channel.close()


def _client(config: Mapping[str, Any]):
    key = (config["BROKER_URL"], config["TASK_QUEUE"])
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                from celery import Celery

                client = Celery("procure-client", set_as_current=False)
                client.conf.update(celery_settings(config))
                if config["BROKER_URL"].startswith("redis://"):
                    # Sending only: the same transport, one Redis client per channel.
                    client.conf.broker_transport = "procure.queue:RedisSendingTransport"
                _clients[key] = client
    return client


def enqueue(task_name: str, *args: Any, **kwargs: Any) -> str:
    """Send the task ``task_name`` (e.g. ``"workers.tasks.send_email"``) with
    JSON arguments to the worker; returns the task id. Call after commit.

    Raises (``kombu.exceptions.OperationalError``) when the broker cannot be
    reached after Celery's short publish retries (about a second): callers
    that must not fail keep a durable record to retry from (an outbox row)."""
    client = _client(current_app.config)
    result = client.send_task(task_name, args=args, kwargs=kwargs)
    return result.id


def prune_broker(config: Mapping[str, Any], *, older_than_seconds: int, dry_run: bool = False) -> int:
    """Embedded broker only: delete the messages kombu's SQLAlchemy transport
    has delivered (it keeps them with ``visible = false`` for ever, stamped
    with the local time they were fetched) once older than
    ``older_than_seconds``. Returns how many were (or, dry run, would be)
    deleted; 0 for Redis (which deletes acknowledged messages itself)."""
    broker_url = config["BROKER_URL"]
    if not is_embedded_broker(broker_url):
        return 0
    from datetime import datetime, timedelta

    import sqlalchemy as sa

    engine = sa.create_engine(broker_url.split("+", 1)[1], connect_args={"timeout": 30} if "sqlite" in broker_url else {})
    try:
        if not sa.inspect(engine).has_table("kombu_message"):
            return 0
        message = sa.table("kombu_message", sa.column("id"), sa.column("visible"), sa.column("timestamp"))
        # kombu stamps with datetime.now() (naive local time).
        cutoff = datetime.now() - timedelta(seconds=older_than_seconds)
        delivered = sa.and_(message.c.visible.is_(False), message.c.timestamp < cutoff)
        with engine.begin() as conn:
            if dry_run:
                return conn.execute(sa.select(sa.func.count()).select_from(message).where(delivered)).scalar() or 0
            return conn.execute(sa.delete(message).where(delivered)).rowcount or 0
    finally:
        engine.dispose()


class _SendingChannel(redis_transport.Channel):
    """kombu's Redis channel, except that it keeps the Redis client it sends
    with: kombu makes a new ``redis.Redis`` for every message it sends (on
    the channel's connection pool), and building one (its table of response
    callbacks) cost a third of an enqueue. Same pool, same commands, same
    messages; a new pool (after a reconnection) gets a new client."""

    def _create_client(self, asynchronous: bool = False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self.__dict__.get("_sending_client")
        if client is None or client.connection_pool is not self.pool:
            client = self._sending_client = super()._create_client()
        return client


class RedisSendingTransport(redis_transport.Transport):
    """The transport of the web's enqueue-only Celery client on Redis (the
    worker keeps kombu's own)."""

    Channel = _SendingChannel
