"""Small builders for the notification tests."""
from __future__ import annotations

import itertools

from procure.extensions import db
from procure.notifications import services

_seq = itertools.count(1)


def notify_test(recipient=None, *, email=None, event_key=None, title="季度报告", message="内容", link="/inbox", **kw):
    """``notify`` with the sample template (templates/email/test_message)."""
    return services.notify(
        db.session,
        event_key=event_key or f"test.event:{next(_seq)}",
        template="test_message",
        context={"title": title, "message": message},
        recipient=recipient,
        email=email,
        link=link,
        **kw,
    )
