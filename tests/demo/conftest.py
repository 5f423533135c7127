"""The demo tests check the data, not the emails: notifications stay in the
outbox (on SQLite, delivering the ~100 emails of a full demo load inline took
about four minutes per load)."""
import pytest


@pytest.fixture(autouse=True)
def outbox_only(monkeypatch):
    from procure.notifications import services as notification_services

    monkeypatch.setattr(notification_services, "dispatch", lambda _ids: None)
