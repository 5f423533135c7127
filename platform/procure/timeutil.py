"""Times are stored in UTC and shown in the configured zone (Asia/Shanghai)."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; they are UTC by convention."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def localtime(value: datetime | None, tz: str = "Asia/Shanghai") -> datetime | None:
    if value is None:
        return None
    return as_utc(value).astimezone(ZoneInfo(tz))
