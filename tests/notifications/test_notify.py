"""notify(): rendered in the recipient's language, stored, exactly once per (event, recipient)."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from procure.extensions import db
from procure.notifications import queries, services
from procure.notifications.models import EmailStatus, Notification
from tests import factories
from tests.notifications.helpers import notify_test


def test_notify_renders_in_chinese_and_stores_the_inbox_entry(session, mailbox):
    user = factories.user(email="zhang@example.com")
    user.name = "张三"
    n = notify_test(user, event_key="org.approved:42", title="机构审核通过", message="您的机构已通过审核。", link="/orgs/42")

    assert n.id is not None
    assert n.event_key == "org.approved:42"
    assert n.recipient_user_id == user.id
    assert n.recipient_email == "zhang@example.com"
    assert n.locale == "zh"
    assert n.subject == "测试邮件：机构审核通过"
    assert n.body_text.startswith("张三，您好：")
    assert "这是一封来自政府购买服务平台的测试邮件。" in n.body_text
    assert "您的机构已通过审核。" in n.body_text
    assert "http://127.0.0.1:5000/orgs/42" in n.body_text  # absolute link in the email
    assert '<html lang="zh-CN">' in n.body_html
    assert "您的机构已通过审核。" in n.body_html
    assert n.link == "/orgs/42"  # the inbox keeps the site path
    assert n.context == {"title": "机构审核通过", "message": "您的机构已通过审核。"}
    assert n.template == "test_message"
    assert n.read_at is None
    assert n.email_status == EmailStatus.PENDING and n.email_attempts == 0
    assert len(mailbox) == 0  # nothing leaves before the commit

    session.commit()
    assert queries.by_event(session, "org.approved:42") == [n]
    assert n.email_status == EmailStatus.SENT


def test_html_body_escapes_the_context_and_text_body_keeps_it(session):
    user = factories.user()
    n = notify_test(user, title="<b>", message='<script>alert("x")</script>')
    assert "<script>" not in n.body_html
    assert "&lt;script&gt;" in n.body_html
    assert '<script>alert("x")</script>' in n.body_text
    assert n.subject == "测试邮件：<b>"


def test_the_same_event_twice_makes_one_row_and_one_email(session, mailbox):
    user = factories.user(email="li@example.com")
    first = notify_test(user, event_key="tender.published:7")
    second = notify_test(user, event_key="tender.published:7", message="重复")
    session.commit()
    # Again in a later transaction (a sweep that runs twice).
    third = notify_test(user, event_key="tender.published:7")
    session.commit()

    assert first is not None and second is None and third is None
    assert len(queries.by_event(session, "tender.published:7")) == 1
    assert len(mailbox.to("li@example.com")) == 1


def test_same_event_to_differently_written_address_is_still_once(session, mailbox):
    notify_test(email="Invitee@Example.com ", event_key="org.invited:5")
    assert notify_test(email="invitee@example.com", event_key="org.invited:5") is None
    session.commit()
    assert len(mailbox.to("invitee@example.com")) == 1


def test_one_event_notifies_every_recipient_once(session, mailbox):
    a, b = factories.user(), factories.user()
    assert notify_test(a, event_key="amendment:3") is not None
    assert notify_test(b, event_key="amendment:3") is not None
    session.commit()
    assert {n.recipient_user_id for n in queries.by_event(session, "amendment:3")} == {a.id, b.id}
    assert len(mailbox.to(a.email)) == 1 and len(mailbox.to(b.email)) == 1


def test_rollback_sends_nothing_and_keeps_nothing(session, mailbox):
    user = factories.user()
    assert notify_test(user, event_key="org.rejected:9") is not None
    session.rollback()
    assert queries.by_event(session, "org.rejected:9") == []
    # A later commit of other work does not send the rolled-back notification.
    user.name = "改名"
    session.commit()
    assert len(mailbox) == 0
    assert session.scalar(sa.select(sa.func.count(Notification.id))) == 0


def test_a_duplicate_does_not_abort_the_callers_transaction(session):
    user = factories.user()
    notify_test(user, event_key="e:1")
    session.commit()
    user.name = "同一事务中的其他修改"
    assert notify_test(user, event_key="e:1") is None
    session.commit()
    session.expire_all()
    assert user.name == "同一事务中的其他修改"


def test_invitee_without_account_gets_email_but_no_inbox_owner(session, mailbox):
    n = notify_test(email="new.person@example.org", event_key="org.invited:1")
    session.commit()
    assert n.recipient_user_id is None and n.recipient_email == "new.person@example.org"
    assert mailbox.one(to="new.person@example.org").subject.startswith("测试邮件")
    assert n.body_text.startswith("您好：")
    assert "站内消息" not in n.body_text and "站内消息" not in n.body_html  # they have no inbox


def test_text_body_layout(session):
    n = notify_test(factories.user(), message="第一段。", link="/x")
    assert "\n\n\n" not in n.body_text
    assert n.body_text.endswith("/inbox\n")  # a user's notification is also in the inbox
    assert "\n-- \n" in n.body_text  # signature separator (not shown in the inbox)
    assert n.inbox_text.endswith("http://127.0.0.1:5000/x")


def test_recipient_locale_is_used_and_explicit_locale_wins(session):
    user = factories.user()
    user.locale = "en"
    assert notify_test(user).locale == "en"
    assert notify_test(user, locale="zh").locale == "zh"
    assert notify_test(user, locale="xx").locale == "en"  # unknown: the user's language


def test_notify_needs_an_address(session):
    with pytest.raises(ValueError):
        notify_test(None, email=None)
    with pytest.raises(ValueError):
        notify_test(None, email="not-an-address")


def test_notify_works_outside_a_request(app, session, mailbox):
    """Services run in the worker and the CLI too: an app context is enough."""
    from flask import has_request_context

    assert not has_request_context()
    user = factories.user()
    assert notify_test(user).subject.startswith("测试邮件")
    session.commit()
    assert len(mailbox) == 1


def test_concurrent_notify_of_the_same_event_inserts_once(app, session, mailbox):
    """Two transactions notify the same event at the same moment: the second
    waits for the first, then inserts nothing and carries on (no error)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    user = factories.user()
    user_id = user.id
    notify_test(user, event_key="race:1")  # open transaction, row not committed yet
    result = {}

    def other():
        with app.app_context():
            with Session(db.engine) as other_session:
                recipient = other_session.get(type(user), user_id)
                result["value"] = services.notify(
                    other_session, event_key="race:1", template="test_message",
                    context={"title": "t", "message": "m"}, recipient=recipient,
                )
                other_session.commit()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive(), "the second insert should wait for the first transaction"
    session.commit()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert result["value"] is None
    assert len(queries.by_event(session, "race:1")) == 1
    assert len(mailbox.to(user.email)) == 1
