"""notify_users(): several users in one INSERT, each under its own event key,
stored without its text and rendered when first read, with the very text
``notify`` would have stored; exactly once per (event, recipient); emailed
after the commit; nothing lost (the sender stores the text before it sends,
the outbox sweep picks up a lost hand-off, a template that does not render
fails the email instead of sending it empty).
"""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import lazy_gettext
from jinja2 import ChoiceLoader, DictLoader
from markupsafe import Markup

from procure.extensions import db
from procure.notifications import services
from procure.notifications.models import EmailStatus, Notification
from tests import factories
from tests.conftest import login

HOSTILE = "<b>O'Brien & \"Co\"</b> {{ 7*7 }}"
CONTEXT = {"title": "<script>alert(1)</script>养老 & 助残", "message": "第 2 版\n摘要 ab12"}


def _stored(session, ids) -> dict[int, tuple[str, str, str]]:
    """The columns as stored, read without the ORM (no rendering on load)."""
    table = Notification.__table__
    rows = session.execute(sa.select(table.c.id, table.c.subject, table.c.body_text, table.c.body_html)
                           .where(table.c.id.in_(ids))).all()
    return {r.id: (r.subject, r.body_text, r.body_html) for r in rows}


def _users(*names):
    users = []
    for i, name in enumerate(names):
        user = factories.user(email=f"member{i}@example.com")
        user.name = name
        users.append(user)
    db.session.flush()
    return users


def _recipients(users, prefix="late"):
    return [(f"{prefix}:{u.id}", services.Recipient(user_id=u.id, email=u.email, name=u.name, locale=u.locale))
            for u in users]


def test_rows_are_stored_without_text_and_read_with_the_text_notify_stores(session, monkeypatch):
    monkeypatch.setattr(services, "dispatch", lambda ids: None)  # not sent: the rows stay as stored
    users = _users("张三", HOSTILE, "")
    users[2].locale = "en"
    ids = services.notify_users(session, template="test_message", context=CONTEXT, recipients=_recipients(users),
                                link="/bids/7")
    assert len(ids) == 3
    eager = {u.id: services.notify(session, event_key=f"eager:{u.id}", template="test_message", context=CONTEXT,
                                   recipient=u, link="/bids/7") for u in users}
    session.commit()

    assert set(_stored(session, ids).values()) == {("", "", "")}  # nothing rendered in the request
    session.expire_all()
    for n in session.scalars(sa.select(Notification).where(Notification.id.in_(ids))):
        expected = eager[n.recipient_user_id]
        assert (n.subject, n.body_text, n.body_html) == (expected.subject, expected.body_text, expected.body_html)
        assert n.locale == expected.locale and n.link == "/bids/7" and n.template == "test_message"
    hostile = session.scalars(sa.select(Notification).where(Notification.event_key == f"late:{users[1].id}")).one()
    assert "&lt;b&gt;O&#39;Brien &amp; &#34;Co&#34;&lt;/b&gt; {{ 7*7 }}" in hostile.body_html  # escaped, not evaluated
    assert HOSTILE in hostile.body_text
    assert "<script>alert(1)</script>" not in hostile.body_html and "&lt;script&gt;" in hostile.body_html
    assert hostile.subject.startswith("测试邮件：<script>")
    english = session.scalars(sa.select(Notification).where(Notification.event_key == f"late:{users[2].id}")).one()
    assert english.locale == "en" and english.subject.startswith("Test email")
    # Reading changed nothing stored (the sender stores the text).
    assert set(_stored(session, ids).values()) == {("", "", "")}


def test_the_email_is_sent_after_the_commit_with_the_text_then_stored(session, mailbox):
    users = _users("李四")
    ids = services.notify_users(session, template="test_message", context=CONTEXT, recipients=_recipients(users))
    assert len(mailbox) == 0
    session.commit()
    message = mailbox.one(to=users[0].email)
    stored = _stored(session, ids)[ids[0]]
    assert stored[0] == message.subject == "测试邮件：<script>alert(1)</script>养老 & 助残"
    assert stored[1] == message.text.replace("\r\n", "\n") and "李四，您好：" in stored[1]
    assert stored[2].strip() == message.html.replace("\r\n", "\n").strip() and "&lt;script&gt;" in stored[2]
    n = session.get(Notification, ids[0])
    assert n.email_status == EmailStatus.SENT


def test_exactly_once_per_event_and_recipient(session, mailbox):
    users = _users("甲", "乙")
    first = services.notify_users(session, template="test_message", context=CONTEXT,
                                  recipients=_recipients(users[:1]))
    session.commit()
    again = services.notify_users(session, template="test_message", context=CONTEXT, recipients=_recipients(users))
    session.commit()
    assert len(first) == 1 and len(again) == 1 and again != first  # only the new recipient
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 2
    assert len(mailbox) == 2
    assert services.notify_users(session, template="test_message", context=CONTEXT, recipients=[]) == []


def test_a_rolled_back_transaction_leaves_no_row_and_sends_nothing(session, mailbox):
    users = _users("丙")
    services.notify_users(session, template="test_message", context=CONTEXT, recipients=_recipients(users))
    session.rollback()
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    assert len(mailbox) == 0


@pytest.mark.parametrize("value", [Decimal("12.50"), datetime.date(2026, 5, 1), (1, 2), Markup("<b>x</b>"),
                                   lazy_gettext("投标回执"), {1: "x"}, ["ok", Decimal("1")]])
def test_a_context_that_would_change_in_json_is_rendered_at_once(session, monkeypatch, value):
    assert not services.json_stable({"title": value})
    monkeypatch.setattr(services, "dispatch", lambda ids: None)
    users = _users("丁")
    context = {"title": value, "message": "m"}
    ids = services.notify_users(session, template="test_message", context=context, recipients=_recipients(users))
    expected = services.notify(session, event_key="eager", template="test_message", context=context,
                               recipient=users[0])
    stored = _stored(session, ids)[ids[0]]
    assert stored == (expected.subject, expected.body_text, expected.body_html) and stored[0]


def test_json_stable_values():
    assert services.json_stable({"a": "x", "b": 1, "c": 2.5, "d": True, "e": None, "f": ["y", {"g": [1]}]})
    assert not services.json_stable({"a": (1,)}) and not services.json_stable({"a": float("inf")})


def test_emails_with_one_time_links_are_rendered_at_once(session, monkeypatch):
    monkeypatch.setattr(services, "dispatch", lambda ids: None)
    users = _users("戊")
    ids = services.notify_users(session, template="password_reset",
                                context={"url": "http://127.0.0.1:5000/account/reset/tok", "minutes": 30},
                                recipients=_recipients(users), link="http://127.0.0.1:5000/account/reset/tok")
    subject, body_text, _ = _stored(session, ids)[ids[0]]
    assert subject and "/account/reset/tok" in body_text  # stored now: the sender erases it once sent


def test_a_template_that_does_not_render_fails_the_email_instead_of_sending_it_empty(app, session, mailbox,
                                                                                      monkeypatch):
    broken = {"email/broken_probe/subject.txt": "{{ title }}", "email/broken_probe/body.txt": "{{ nothing.here }}",
              "email/broken_probe/body.html": "<p>{{ title }}</p>"}
    monkeypatch.setattr(app, "jinja_loader", ChoiceLoader([DictLoader(broken), app.jinja_loader]))
    users = _users("己")
    ids = services.notify_users(session, template="broken_probe", context={"title": "x"},
                                recipients=_recipients(users))
    session.commit()
    assert len(mailbox) == 0
    n = session.get(Notification, ids[0])
    assert n.email_status == EmailStatus.FAILED and "did not render" in n.last_error
    assert _stored(session, ids)[ids[0]] == ("", "", "")  # kept, to be retried once the template is fixed


def test_a_lost_hand_off_is_delivered_by_the_outbox_sweep_with_its_text(app, session, mailbox, monkeypatch):
    users = _users("庚")
    with monkeypatch.context() as patch:
        patch.setattr(services, "dispatch", lambda ids: None)  # the enqueue was lost
        ids = services.notify_users(session, template="test_message", context=CONTEXT,
                                    recipients=_recipients(users))
        session.commit()
    assert len(mailbox) == 0
    due = services.due_for_delivery(session, pending_after=datetime.timedelta(0),
                                    now=services.utcnow() + datetime.timedelta(seconds=1))
    assert ids[0] in due
    assert services.deliver(session, ids[0]) == "sent"
    assert mailbox.one(to=users[0].email).subject == "测试邮件：<script>alert(1)</script>养老 & 助残"
    assert _stored(session, ids)[ids[0]][0] == "测试邮件：<script>alert(1)</script>养老 & 助残"


def test_the_inbox_shows_a_row_not_yet_sent(client, session, monkeypatch):
    monkeypatch.setattr(services, "dispatch", lambda ids: None)
    me = factories.user()
    ids = services.notify_users(session, template="test_message",
                                context={"title": "<i>回执</i>", "message": "摘要 0123abcd"},
                                recipients=_recipients([me]))
    session.commit()
    login(client, me.email, factories.PASSWORD)
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "测试邮件：&lt;i&gt;回执&lt;/i&gt;" in inbox and "<i>回执</i>" not in inbox
    page = client.get(f"/inbox/{ids[0]}").get_data(as_text=True)
    assert "摘要 0123abcd" in page
    assert _stored(session, ids)[ids[0]] == ("", "", "")  # still to be sent, and stored by the sender
