"""Liveness of beat + worker: the time of the last heartbeat task, kept in
Redis when the broker is Redis, else in ``instance/locks/`` (embedded mode)."""
from __future__ import annotations

import os
from datetime import datetime

from procure.timeutil import utcnow
from workers.locks import key, redis_client, state_dir


def record_heartbeat(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    value = now.isoformat()
    client = redis_client()
    if client is not None:
        client.set(key("heartbeat"), value)
    else:
        path = state_dir() / f"{key('heartbeat').replace(':', '.')}"
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(value)
        tmp.replace(path)
    return now


def last_heartbeat() -> datetime | None:
    client = redis_client()
    if client is not None:
        value = client.get(key("heartbeat"))
        value = value.decode() if value else None
    else:
        path = state_dir() / f"{key('heartbeat').replace(':', '.')}"
        value = path.read_text() if path.exists() else None
    return datetime.fromisoformat(value) if value else None
