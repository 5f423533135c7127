"""The database server's clock, for deadlines enforced inside a transaction.

PostgreSQL: ``clock_timestamp()`` (the time of the statement, not of the
transaction start as ``now()`` would give), so a check made just before the
commit reflects the commit time. SQLite is embedded: the "server" is this
process's host, so its clock is the application's (UTC); SQLite serialises
writers with its database lock, which stands in for the row locks.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from procure.timeutil import as_utc, utcnow


def db_now(session: Session) -> datetime:
    if session.get_bind().dialect.name == "postgresql":
        return as_utc(session.scalar(text("SELECT clock_timestamp()")))
    return utcnow()


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
