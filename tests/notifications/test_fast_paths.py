"""The fan-out's fast paths give the same emails as the slow, obvious ones:

* ``notify_many`` renders a template once per batch with placeholders and
  fills in each recipient's name, address and unsubscribe link: every row
  equals a full render for that recipient (escaped in HTML, raw in text),
  and a template that transforms a per-recipient value falls back to a full
  render per recipient;
* ``mail.message_bytes`` builds the MIME bytes directly: parsed, they equal
  ``mail.classic_message`` (``EmailMessage``) header by header and body by
  body.
"""
from __future__ import annotations

import email
import email.policy
from datetime import datetime, timezone

import pytest
from jinja2 import ChoiceLoader, DictLoader

from procure.extensions import db
from procure.notifications import mail, services
from procure.notifications.models import Notification
from tests import factories
from tests.notifications.helpers import notify_test


@pytest.fixture
def fixed_tokens(monkeypatch):
    """Unsubscribe tokens carry a timestamp: fixed here so that two renders compare."""
    from procure.alerts import preferences

    monkeypatch.setattr(preferences, "unsubscribe_token", lambda user_id, kind, config: f"tok-{user_id}-{kind}")


NAMES = ["张三", "<b>O'Brien & \"Co\"</b>", "", "  spaced   name ", "李四", "{{ 7*7 }} %(name)s", "王五"]


def _recipients(names, locales=("zh",)):
    recipients = []
    for i, name in enumerate(names):
        user = factories.user(email=f"fan{i}-{len(names)}@example.com")
        recipients.append(services.Recipient(user_id=user.id, email=user.email, name=name,
                                             locale=locales[i % len(locales)]))
    return recipients


def _full_render(app, template, recipient, context, link, kind):
    config = app.config
    variables = {
        "recipient_name": recipient.name or "", "recipient_email": recipient.email,
        "base_url": config["BASE_URL"].rstrip("/"), "link_url": services.absolute_url(link, config),
        "in_inbox": True, "unsubscribe_url": services._unsubscribe_url(recipient.user_id, kind, config),
        **context,
    }
    return services.render_email(template, variables, locale=recipient.locale)


@pytest.mark.parametrize("template,context,kind", [
    ("deadline_reminder", {"subject_title": "<script>x</script>养老服务", "deadline": "2026-12-10 17:00", "hours": 24},
     "deadline_reminders"),
    ("tender_alert", {"subject_title": "A & B 项目", "deadline": "2026-12-10 17:00"}, "tender_alerts"),
    ("test_message", {"title": "批量", "message": "内容 <i>x</i>"}, None),
])
def test_notify_many_rows_equal_a_full_render_for_each_recipient(app, session, fixed_tokens, template, context, kind):
    recipients = _recipients(NAMES, locales=("zh", "en"))
    ids = services.notify_many(session, event_key=f"fast:{template}", template=template, context=context,
                               recipients=recipients, link="/tenders/7", unsubscribe_kind=kind)
    assert len(ids) == len(recipients)
    rows = {n.recipient_email: n for n in session.query(Notification).filter(Notification.id.in_(ids))}
    for recipient in recipients:
        row = rows[recipient.email]
        assert (row.subject, row.body_text, row.body_html) == _full_render(
            app, template, recipient, context, "/tenders/7", kind), recipient
    # The hostile name is text in HTML and raw in the plain text.
    hostile = rows[recipients[1].email]
    assert "&lt;b&gt;O&#39;Brien &amp; &#34;Co&#34;&lt;/b&gt;" in hostile.body_html
    assert "<b>O'Brien & \"Co\"</b>" in hostile.body_text
    assert "\x00" not in hostile.body_html + hostile.body_text


def test_a_template_that_transforms_a_recipient_value_is_rendered_per_recipient(app, session, fixed_tokens, monkeypatch):
    probe = {
        "email/stencil_probe/subject.txt": "{{ _('测试邮件：%(title)s', title=title) }}",
        "email/stencil_probe/body.txt": "{{ recipient_name|truncate(4, True, '…', 0) }} {{ recipient_email|upper }}",
        "email/stencil_probe/body.html": "<p>{{ recipient_name[:3] }}</p><p>{{ unsubscribe_url|urlencode }}</p>",
    }
    monkeypatch.setattr(app, "jinja_loader", ChoiceLoader([DictLoader(probe), app.jinja_loader]))
    recipients = _recipients(["欧阳修文忠公", "司马光君实", "张三"])
    ids = services.notify_many(session, event_key="fast:probe", template="stencil_probe", context={"title": "x"},
                               recipients=recipients, link="/", unsubscribe_kind="tender_alerts")
    rows = {n.recipient_email: n for n in session.query(Notification).filter(Notification.id.in_(ids))}
    for recipient in recipients:
        row = rows[recipient.email]
        expected = _full_render(app, "stencil_probe", recipient, {"title": "x"}, "/", "tender_alerts")
        assert (row.subject, row.body_text, row.body_html) == expected
    assert rows[recipients[0].email].body_text.startswith("欧阳修…")
    assert "%3A" in rows[recipients[0].email].body_html  # urlencoded, not the raw placeholder's fill


def _notification(**overrides) -> Notification:
    values = dict(id=4711, subject="投标截止提醒（24 小时）：沂南县居家养老上门服务项目", body_text="张三，您好：\n\n内容\n",
                  body_html="<p>张三，您好：</p>", recipient_email="zhang@example.com", locale="zh",
                  created_at=datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc))
    values.update(overrides)
    return Notification(**values)


CASES = {
    "chinese": {},
    "long subject": {"subject": "很长的标题" * 60},
    "english ascii": {"subject": "Reminder: bid deadline", "body_text": "Hello,\n\nshort lines\n",
                      "body_html": "<p>Hello</p>\n<p>x</p>", "locale": "en"},
    "long ascii lines": {"body_text": "x" * 300 + "\n", "body_html": "<p>" + "y" * 500 + "</p>"},
    "boundary in a 7bit body": {"body_text": "--=_procure-4711-alternative\nquoted\n", "body_html": "<p>ok</p>"},
    "odd line ends": {"body_text": "a\r\nb\rc\u2028d\x0ce\n", "body_html": "<p>\u2028</p>"},
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("unsubscribe", [None, "http://127.0.0.1:5000/unsubscribe/" + "Ab1.-_" * 20])
@pytest.mark.parametrize("redirect", [None, "staging@example.org"])
def test_message_bytes_equal_the_classic_email_message(app, case, unsubscribe, redirect, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_REDIRECT_TO", redirect)
    n = _notification(**CASES[case])
    data = mail.message_bytes(n, app.config, unsubscribe_url=unsubscribe)
    fast = email.message_from_bytes(data, policy=email.policy.default)
    classic = email.message_from_bytes(
        # As smtplib puts it on the wire (CRLF line ends).
        mail.classic_message(n, app.config, unsubscribe_url=unsubscribe).as_bytes(policy=email.policy.SMTP),
        policy=email.policy.default)
    for header in ("Subject", "From", "To", "X-Procure-Original-To", "Date", "Message-ID", "Auto-Submitted",
                   "List-Unsubscribe", "List-Unsubscribe-Post", "Content-Language", "Content-Type"):
        assert (fast[header] is None) == (classic[header] is None), header
        if header != "Content-Type":
            assert str(fast[header] or "") == str(classic[header] or ""), header
    assert fast.get_content_type() == "multipart/alternative"
    for kind in ("plain", "html"):
        # Same text; line ends may be LF or CRLF (8bit lines go CRLF on the wire).
        assert _lines(fast.get_body((kind,)).get_content()) == _lines(classic.get_body((kind,)).get_content()), kind
        assert fast.get_body((kind,)).get_content_charset() == "utf-8"
    # On the wire: CRLF line ends, ASCII headers of at most 998 characters, and
    # a retry is the very same bytes (deterministic boundary).
    head = data.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert data == mail.message_bytes(n, app.config, unsubscribe_url=unsubscribe)


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n")


def test_list_unsubscribe_is_the_bare_url_in_angle_brackets(app):
    """RFC 2369: an encoded word (which EmailMessage makes of a long URL) is not
    allowed there; mail clients would not find the URL."""
    url = "http://127.0.0.1:5000/unsubscribe/" + "t" * 90
    data = mail.message_bytes(_notification(), app.config, unsubscribe_url=url)
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in data
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in data


def test_an_address_that_needs_quoting_is_built_the_classic_way(app, session, mailbox):
    n = notify_test(email='"john doe"@example.com')
    assert mail.message_bytes(n, app.config) is None
    assert mail.build_message(n, app.config)["To"] == '"john doe"@example.com'
    session.commit()
    assert mailbox.one(to='"john doe"@example.com')["Message-ID"] == f"<notification-{n.id}@procure.local>"
