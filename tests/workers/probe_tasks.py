"""Tasks that exist only for the tests: the test worker loads them with
``celery worker --include tests.workers.probe_tasks``. Thin, like real tasks:
load by id, change, commit."""
from __future__ import annotations

import os

from procure.accounts.models import User
from procure.extensions import db
from workers.celery_app import celery


@celery.task(name="tests.probe.rename_user")
def rename_user(user_id: int, name: str) -> None:
    user = db.session.get(User, user_id)
    user.name = name
    db.session.commit()


@celery.task(name="tests.probe.append_line")
def append_line(path: str, line: str) -> None:
    """Append one line to a file (O_APPEND: concurrent writers never mix)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
