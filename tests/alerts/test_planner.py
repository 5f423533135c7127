"""The planner (procure/alerts/planner.py) with a subject source registered by
the test (tenders are not built yet: a tender registers the same kind of
source). Emails go to the real SMTP server of the tests; the assertions read
what it received."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from procure.alerts import planner, preferences
from procure.alerts import services as follows
from procure.extensions import db
from procure.notifications.models import Notification
from procure.timeutil import utcnow
from tests import factories

DEADLINE = datetime(2026, 12, 10, 9, 0, tzinfo=timezone.utc)


class Source:
    """A registered subject source whose subjects the test changes."""

    def __init__(self):
        self.subjects: list[planner.Subject] = []

    def __call__(self, session, start, end):
        return [s for s in self.subjects if (s.deadline and start <= s.deadline < end)
                or (start <= s.published_at < end)]


@pytest.fixture
def source(monkeypatch):
    src = Source()
    monkeypatch.setattr(planner, "_alert_sources", [src])
    monkeypatch.setattr(planner, "_reminder_sources", [src])
    return src


def _subject(county_id, *, key="tender:1", codes=("A", "A01", "A0101"), done=frozenset(), cancelled=False,
             deadline=DEADLINE, published=DEADLINE - timedelta(days=10)):
    return planner.Subject(key=key, county_id=county_id, category_codes=codes, title="居家养老上门服务<采购>",
                           link=f"/tenders/{key.split(':')[1]}", published_at=published, deadline=deadline,
                           done_organization_ids=frozenset(done), cancelled=cancelled)


def _org_following(email, *, category=""):
    admin = factories.user(email=email)
    org = factories.organization("371321", admin_user=admin)
    if category:
        factories.catalog_with_items("371321", 2026) if not _has_catalog() else None
        follows.follow(db.session, org, county=factories.county("371321"), category_code=category)
    else:
        follows.follow(db.session, org, county=factories.county("371321"))
    db.session.commit()
    return org, admin


def _has_catalog():
    from procure.catalog import queries

    return queries.current_published(db.session, factories.county("371321").id) is not None


def _run(job, now, app, **kw):
    fn = {"reminders": planner.plan_reminders, "alerts": planner.plan_alerts}[job]
    return fn(db.session, now=now, config=app.config, commit=db.session.commit, **kw)


def test_reminders_at_each_offset_once_and_none_after_submission(app, session, mailbox, source):
    org_a, a = _org_following("a@example.com")
    org_b, b = _org_following("b@example.com")
    county = factories.county("371321").id
    source.subjects = [_subject(county)]
    mailbox.clear()

    assert _run("reminders", DEADLINE - timedelta(hours=80), app).notifications == 0  # not due yet
    assert _run("reminders", DEADLINE - timedelta(hours=72), app).notifications == 2
    assert _run("reminders", DEADLINE - timedelta(hours=71), app).notifications == 0  # again: nothing new
    assert [m.subject for m in mailbox.to("a@example.com")] == ["投标截止提醒（72 小时）：居家养老上门服务<采购>"]
    assert len(mailbox.to("b@example.com")) == 1

    _run("reminders", DEADLINE - timedelta(hours=24), app)
    source.subjects = [_subject(county, done={org_b.id})]  # B submitted its bid
    _run("reminders", DEADLINE - timedelta(hours=2), app)
    _run("reminders", DEADLINE + timedelta(minutes=1), app)  # past the deadline: nothing
    assert [m.subject.split("：")[0] for m in mailbox.to("a@example.com")] == [
        "投标截止提醒（72 小时）", "投标截止提醒（24 小时）", "投标截止提醒（2 小时）"]
    assert [m.subject.split("：")[0] for m in mailbox.to("b@example.com")] == [
        "投标截止提醒（72 小时）", "投标截止提醒（24 小时）"]

    message = mailbox.to("a@example.com")[0]
    head = message.raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # the Chinese subject is RFC 2047-encoded on the wire ...
    assert b"=?utf-8?" in head.lower()  # ... and decodes back (assertions above)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:5000/unsubscribe/")
    assert message.link("/tenders/") == "http://127.0.0.1:5000/tenders/1"  # absolute link (BASE_URL)
    assert "<采购>" not in message.html and "&lt;采购&gt;" in message.html  # escaped in HTML


def test_a_missed_offset_is_replaced_by_the_latest_and_a_cancelled_subject_sends_none(app, session, mailbox, source):
    _org_following("late@example.com")
    county = factories.county("371321").id
    source.subjects = [_subject(county), _subject(county, key="tender:2", cancelled=True)]
    mailbox.clear()
    _run("reminders", DEADLINE - timedelta(hours=20), app)  # the planner was down at 72 h and 24 h
    assert [m.subject.split("：")[0] for m in mailbox.to("late@example.com")] == ["投标截止提醒（24 小时）"]


def test_alerts_follow_categories_and_members_choose_each_or_digest(app, session, mailbox, source):
    factories.catalog_with_items("371321", 2026)
    org, each_user = _org_following("each@example.com", category="A01")
    digest_user = factories.org_member(org, email="digest@example.com")
    preferences.set_value(session, digest_user.id, preferences.TENDER_ALERTS, preferences.DIGEST)
    session.commit()
    _org_following("other@example.com", category="B")  # another category: not told
    county = factories.county("371321").id
    published = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
    source.subjects = [_subject(county, published=published)]
    mailbox.clear()

    _run("alerts", published + timedelta(minutes=1), app)
    _run("alerts", published + timedelta(minutes=2), app)
    assert [m.subject for m in mailbox.to("each@example.com")] == ["新项目：居家养老上门服务<采购>"]
    assert mailbox.to("digest@example.com") == [] and mailbox.to("other@example.com") == []

    from procure import jobs

    lines = jobs.run("alerts_digest", session, now=datetime(2026, 12, 2, 0, 0, tzinfo=timezone.utc),
                     config=app.config, dry_run=False)
    digest = mailbox.one(to="digest@example.com")
    assert digest.subject == "每日新项目摘要（2026-12-01）：1 个项目", lines
    assert "居家养老上门服务<采购>" in digest.text and digest["List-Unsubscribe"]
    assert len(mailbox.to("each@example.com")) == 1  # "each" members get no digest


def test_one_click_unsubscribe_without_login_stops_those_emails(app, session, mailbox, source, client):
    _org_following("unsub@example.com")
    county = factories.county("371321").id
    source.subjects = [_subject(county)]
    mailbox.clear()
    _run("reminders", DEADLINE - timedelta(hours=72), app)
    url = mailbox.one(to="unsub@example.com")["List-Unsubscribe"].strip("<>")
    path = urlsplit(url).path

    assert client.post(path + "x", data={"List-Unsubscribe": "One-Click"}).status_code == 404  # forged token
    page = client.get(path)
    assert page.status_code == 200 and "确认退订" in page.get_data(as_text=True)  # GET changes nothing
    # RFC 8058: the mail client POSTs this body, with no session and no CSRF token.
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "已退订" in response.get_data(as_text=True)

    _run("reminders", DEADLINE - timedelta(hours=24), app)
    assert len(mailbox.to("unsub@example.com")) == 1  # no 24 h reminder any more


def test_the_planner_writes_in_batches_and_each_batch_is_committed(app, session, mailbox, source, monkeypatch):
    monkeypatch.setitem(app.config, "PLANNER_BATCH_SIZE", 2)
    for i in range(5):
        _org_following(f"batch{i}@example.com")
    source.subjects = [_subject(factories.county("371321").id)]
    mailbox.clear()
    commits = []

    def commit():
        commits.append(session.scalar(sa.select(sa.func.count(Notification.id))
                                      .where(Notification.template == "deadline_reminder")))
        session.commit()

    planner.plan_reminders(session, now=DEADLINE - timedelta(hours=72), config=app.config, commit=commit)
    assert commits == [2, 4, 5]  # three short transactions
    assert len(mailbox) == 5


def test_jobs_run_dry_run_prints_what_it_would_send_and_changes_nothing(app, session, mailbox, source):
    _org_following("dry@example.com")
    source.subjects = [_subject(factories.county("371321").id)]
    mailbox.clear()
    runner = app.test_cli_runner()
    now = (DEADLINE - timedelta(hours=72)).isoformat()

    result = runner.invoke(args=["jobs", "run", "plan_reminders", "--dry-run", "--now", now])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "reminder 72h tender:1" in result.output and "1 new of 1" in result.output
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Notification.id))
                          .where(Notification.template == "deadline_reminder")) == 0
    assert len(mailbox) == 0

    result = runner.invoke(args=["jobs", "run", "plan_reminders", "--now", now])
    assert result.exit_code == 0 and "1 new of 1" in result.output
    assert len(mailbox.to("dry@example.com")) == 1
    listing = runner.invoke(args=["jobs", "list"]).output
    for name in ("flush_outbox", "expire_suspensions", "prune_broker", "plan_alerts", "plan_reminders",
                 "alerts_digest", "officer_digest", "heartbeat"):
        assert name in listing
    assert runner.invoke(args=["jobs", "run", "plan_reminders", "--now", "yesterday"]).exit_code != 0


def test_every_beat_job_has_a_jobs_run_command(celery_app):
    from procure import jobs

    beat_tasks = {entry["task"].rpartition(".")[2] for entry in celery_app.conf.beat_schedule.values()}
    assert beat_tasks <= set(jobs.JOBS)


def test_officers_daily_digest_lists_pending_reviews(app, session, mailbox):
    from procure import jobs

    officer = factories.officer("371321", email="officer@example.com")
    factories.officer("371302", email="quiet@example.com")  # nothing due in 371302
    factories.organization("371321", status="pending")
    factories.organization("371321", status="pending")
    mailbox.clear()
    now = datetime(2026, 12, 1, 23, 30, tzinfo=timezone.utc)  # 07:30 in Shanghai
    jobs.run("officer_digest", session, now=now, config=app.config, dry_run=False)
    jobs.run("officer_digest", session, now=now + timedelta(minutes=5), config=app.config, dry_run=False)
    digest = mailbox.one(to="officer@example.com")
    assert digest.subject == "今日待办（2026-12-02）"
    assert "待审核的机构注册：2" in digest.text
    assert digest.link("/manage/organizations").startswith("http://127.0.0.1:5000/")
    assert mailbox.to("quiet@example.com") == []
    assert officer.id


def test_follow_refuses_an_unknown_category(app, session):
    from procure.errors import DomainError

    factories.catalog_with_items("371321", 2026)
    org = factories.organization("371321")
    with pytest.raises(DomainError):
        follows.follow(session, org, county=factories.county("371321"), category_code="Z99")
    assert follows.follow(session, org, county=factories.county("371321"), category_code="a01").category_code == "A01"
    again = follows.follow(session, org, county=factories.county("371321"), category_code="A01")
    assert len(follows.follows_of(session, org)) == 1 and again.id
