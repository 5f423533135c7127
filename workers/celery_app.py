"""The Celery app: ``celery -A workers.celery_app worker`` / ``... beat``.

Configured from ``procure.create_app()``'s config (``PROCURE_*`` environment)
through ``procure.queue.celery_settings``, the same settings the web uses to
enqueue: the broker is ``BROKER_URL`` (Redis in production; the embedded
default is kombu's SQLAlchemy transport on ``instance/broker.sqlite``), no
result backend (tasks write their effects to the database), late acks,
JSON only, timezone Asia/Shanghai, and the beat schedule of
``workers.schedule``.

Importing this module has no side effect: the Flask app is created when the
configuration or a task first needs it (``flask_app()``), so tests can bind
their own app first with ``use_flask_app(app)``.
"""
from __future__ import annotations

import threading

from celery import Celery, Task, signals
from flask import Flask

_flask_app: Flask | None = None
_guard = threading.Lock()


def flask_app() -> Flask:
    """The Flask app tasks run in: ``procure.create_app()``, made once."""
    global _flask_app
    if _flask_app is None:
        with _guard:
            if _flask_app is None:
                from procure import create_app

                _flask_app = create_app()
    return _flask_app


def use_flask_app(app: Flask) -> None:
    """Run tasks in ``app`` (tests, or a process that already has one); call
    before the Celery configuration is first read."""
    global _flask_app
    _flask_app = app


class AppTask(Task):
    """Runs each task inside the Flask app context and removes the database
    session afterwards (nothing leaks from one task to the next)."""

    def __call__(self, *args, **kwargs):
        from procure.extensions import db

        with flask_app().app_context():
            try:
                return super().__call__(*args, **kwargs)
            finally:
                db.session.remove()


celery = Celery("procure", task_cls=AppTask, include=["workers.tasks"])
app = celery  # ``celery -A workers.celery_app`` finds ``app`` / ``celery``


@celery.on_configure.connect
def _configure(sender: Celery, **kwargs) -> None:
    from procure.queue import celery_settings
    from workers.schedule import beat_schedule

    config = flask_app().config
    settings = celery_settings(config)
    settings["beat_schedule"] = beat_schedule
    sender.config_from_object(settings)
    from procure.queue import is_embedded_broker

    if is_embedded_broker(config["BROKER_URL"]):
        # kombu's SQLAlchemy transport hands its transport options to
        # create_engine, so its polling interval is set on the class.
        from kombu.transport import sqlalchemy as kombu_sqlalchemy

        kombu_sqlalchemy.Transport.polling_interval = float(config["BROKER_POLLING_INTERVAL"])


@signals.worker_init.connect
@signals.beat_init.connect
def _prepare_broker(sender=None, **kwargs) -> None:
    """Before a worker or beat starts consuming/publishing: the embedded
    broker's SQLite file in WAL mode and kombu's tables exist."""
    from procure.queue import prepare_broker

    prepare_broker(flask_app().config)


@signals.worker_process_init.connect
def _fresh_connections(**kwargs) -> None:
    """In each forked pool process: never reuse a database connection that
    the parent opened (two processes on one socket corrupt the stream)."""
    from procure.extensions import db

    with flask_app().app_context():
        db.engine.dispose(close=False)
