"""Real tenders in the notification machinery (issue 12): tenders as the
planner's subjects (alerts, deadline reminders), who hears of answers,
amendments, cancellations, openings and awards, and the officers' due work.
Everything through the real services and the registered sources; the
assertions read what the test SMTP server received."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import current_app

from procure import jobs
from procure.accounts.models import Role, RoleAssignment
from procure.alerts import planner
from procure.alerts import services as follows
from procure.bids import services as bids
from procure.extensions import db
from procure.notifications.models import Notification
from procure.tenders import alerting
from procure.tenders import services as tenders
from procure.timeutil import as_utc, localtime, utcnow
from tests import factories
from tests.tenders import builders as b

from tests.organizations.conftest import fast_passwords  # noqa: F401  (autouse: scrypt once per password)

def _t0() -> datetime:
    return utcnow().replace(microsecond=0)


def _org(email, *, county="371321", org_type="social_service_agency", follow=None, category=""):
    """A verified organization whose administrator has ``email``; follows
    ``follow`` (a county code) or a category of it, if given."""
    admin = factories.user(email=email)
    org = factories.organization(county, admin_user=admin, org_type=org_type)
    if follow:
        follows.follow(db.session, org, county=factories.county(follow), category_code=category)
    db.session.commit()
    return org, admin


def _run(name, now):
    return jobs.run(name, db.session, now=now, config=current_app.config, dry_run=False)


def _kinds(mailbox, address, *, only: str = ""):
    """The subjects received by ``address``, up to the colon (decoded);
    ``only``: those starting so."""
    return [m.subject.split("：")[0] for m in mailbox.to(address) if m.subject.startswith(only)]


def _reminders(mailbox, address):
    return _kinds(mailbox, address, only="投标截止提醒")


def test_registered_sources_are_the_tenders_ones(app):
    assert alerting.alert_subjects in planner.alert_sources()
    assert alerting.reminder_subjects in planner.reminder_sources()


def test_reminders_for_a_real_tender_follow_eligibility_submission_amendment_and_cancellation(session, mailbox):
    t0 = _t0()
    # The item accepts social organizations and enterprises; this tender only social organizations.
    tender = b.published(t0, undertaker_types=["social_organization"], title="居家养老<上门>服务")
    codes = alerting.category_codes(tender)
    assert len(codes) == 3 and codes[0] and all(codes[i + 1].startswith(codes[i]) for i in range(2))
    _org("county@example.com", follow="371321")
    _org("category@example.com", org_type="social_group", follow="371321", category=codes[1])  # a parent category
    _org("enterprise@example.com", org_type="enterprise", follow="371321")  # not of the tender's types
    _org("outsider@example.com", county="371302", follow="371321")  # may not bid in another county
    _org("othercat@example.com", follow="371321", category="B")  # another category
    submitter = _org("submitter@example.com", follow="371321")
    drafter, _ = _org("drafter@example.com")  # follows nothing, holds a draft
    bids.get_or_create(session, tender, drafter, today=b.TODAY)
    session.commit()
    cancelled = b.published(t0, title="已终止的项目")
    cancel_drafter, _ = _org("cancelfan@example.com")  # holds a draft on the cancelled tender only
    bids.get_or_create(session, cancelled, cancel_drafter, today=b.TODAY)
    session.commit()
    tenders.cancel(session, cancelled, reason="预算调整", actor=None, now=t0)
    session.commit()
    mailbox.clear()

    deadline = as_utc(tender.bid_deadline)
    _run("plan_reminders", deadline - timedelta(hours=73))
    assert len(mailbox) == 0  # not due yet
    _run("plan_reminders", deadline - timedelta(hours=72))
    _run("plan_reminders", deadline - timedelta(hours=71))  # again: nothing new
    reminded = {"county@example.com", "category@example.com", "submitter@example.com", "drafter@example.com"}
    assert {r for m in mailbox.messages for r in m.rcpt_tos} == reminded
    assert all(_reminders(mailbox, a) == ["投标截止提醒（72 小时）"] for a in reminded)
    message = mailbox.one(to="county@example.com")
    assert message.subject == "投标截止提醒（72 小时）：居家养老<上门>服务"  # decoded from RFC 2047
    assert b"=?utf-8?" in message.raw.split(b"\r\n\r\n", 1)[0].lower()
    assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:5000/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.link(f"/tenders/{tender.id}") == f"http://127.0.0.1:5000/tenders/{tender.id}"
    assert "&lt;上门&gt;" in message.html and "<上门>" not in message.html

    bid, member, _ = b.submitted_bid(tender, who=submitter)  # submitting stops its reminders
    _run("plan_reminders", deadline - timedelta(hours=24))
    assert _reminders(mailbox, "submitter@example.com") == ["投标截止提醒（72 小时）"]
    for address in reminded - {"submitter@example.com"}:
        assert _reminders(mailbox, address) == ["投标截止提醒（72 小时）", "投标截止提醒（24 小时）"]

    # An amendment moves the deadline 15 days later: the reminders are planned afresh
    # for the new deadline, and the submitter, whose bid must now be confirmed, is reminded again.
    amended_at = deadline - timedelta(hours=23)
    new_deadline = amended_at + timedelta(days=15)
    tenders.amend(session, tender, {"bid_deadline": new_deadline}, summary="投标截止时间延后", actor=None,
                  now=amended_at, rules=b.rules())
    session.commit()
    mailbox.clear()
    _run("plan_reminders", deadline - timedelta(hours=2))  # the old deadline's 2 h: nothing
    assert len(mailbox) == 0
    _run("plan_reminders", new_deadline - timedelta(hours=72))
    assert {r for m in mailbox.messages for r in m.rcpt_tos} == reminded
    assert all(_reminders(mailbox, a) == ["投标截止提醒（72 小时）"] for a in reminded)
    bids.confirm(session, session.get(type(bid), bid.id), user=member)  # confirmed: done again
    session.commit()
    mailbox.clear()
    _run("plan_reminders", new_deadline - timedelta(hours=2))
    assert {r for m in mailbox.messages if m.subject.startswith("投标截止提醒") for r in m.rcpt_tos} \
        == reminded - {"submitter@example.com"}
    assert all(_reminders(mailbox, a) == ["投标截止提醒（2 小时）"] for a in reminded - {"submitter@example.com"})
    _run("plan_reminders", new_deadline + timedelta(minutes=1))  # past the deadline: nothing more
    assert len([m for m in mailbox.messages if m.subject.startswith("投标截止提醒")]) == 3

    # The cancelled tender never sent a reminder to anyone.
    assert session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.event_key.like(f"reminder:tender:{cancelled.id}:%"))) == 0


def test_new_tender_alerts_go_to_eligible_followers_only(session, mailbox):
    t0 = _t0()
    _org("fan@example.com", follow="371321")
    _org("ent@example.com", org_type="enterprise", follow="371321")
    _org("faraway@example.com", county="371302", follow="371321")
    tender = b.published(t0, undertaker_types=["social_organization"])
    cancelled = b.published(t0, title="撤回的项目")
    tenders.cancel(session, cancelled, reason="重复发布", actor=None, now=t0)
    session.commit()
    mailbox.clear()

    _run("plan_alerts", t0 + timedelta(minutes=1))
    _run("plan_alerts", t0 + timedelta(minutes=2))  # idempotent
    assert [m.subject for m in mailbox.to("fan@example.com")] == [f"新项目：{tender.title}"]
    assert mailbox.to("ent@example.com") == [] and mailbox.to("faraway@example.com") == []
    assert all("撤回的项目" not in m.subject for m in mailbox.messages)
    assert mailbox.one(to="fan@example.com")["List-Unsubscribe"]


def test_jobs_run_dry_run_shows_who_a_tender_reminder_would_go_to(app, session, mailbox):
    t0 = _t0()
    _org("dryrun@example.com", follow="371321")
    tender = b.published(t0)
    mailbox.clear()
    runner = app.test_cli_runner()
    at = (as_utc(tender.bid_deadline) - timedelta(hours=24)).isoformat()

    result = runner.invoke(args=["jobs", "run", "plan_reminders", "--dry-run", "--now", at])
    assert result.exit_code == 0, result.output
    assert f"reminder 24h tender:{tender.id}:d" in result.output and "1 new of 1" in result.output
    assert "→ dryrun@example.com" in result.output
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Notification.id))
                          .where(Notification.template == "deadline_reminder")) == 0
    assert len(mailbox) == 0

    alerts_at = (t0 + timedelta(minutes=1)).isoformat()
    result = runner.invoke(args=["jobs", "run", "plan_alerts", "--dry-run", "--now", alerts_at])
    assert result.exit_code == 0 and f"alert tender:{tender.id}" in result.output
    assert "→ dryrun@example.com" in result.output and len(mailbox) == 0

    assert runner.invoke(args=["jobs", "run", "plan_reminders", "--now", at]).exit_code == 0
    assert [m.subject.split("：")[0] for m in mailbox.to("dryrun@example.com")] == ["投标截止提醒（24 小时）"]


def test_answers_amendments_and_cancellation_reach_everyone_interested_once(session, mailbox):
    t0 = _t0()
    tender = b.published(t0, title="社区<矫正>服务")
    bidder_org, bidder = _org("bidder@example.com")
    bid, _, _ = b.submitted_bid(tender, price=Decimal("99999.99"), who=(bidder_org, bidder))
    drafter_org, drafter = _org("drafter@example.com")
    bids.get_or_create(session, tender, drafter_org, today=b.TODAY)
    asker_org, asker = _org("asker@example.com")
    colleague = factories.org_member(asker_org, email="colleague@example.com")
    _org("bystander@example.com", follow="371321")  # follows, but neither bid nor asked
    both = factories.org_member(bidder_org, email="both@example.com")  # a member of two interested organizations
    session.add(RoleAssignment(user_id=both.id, role=Role.ORG_MEMBER, organization_id=asker_org.id))
    question = tenders.ask(session, tender, organization=asker_org, user=asker, text="需要<场地>吗？", now=t0,
                           rules=b.rules())
    session.commit()
    mailbox.clear()

    tenders.answer(session, question, actor=None, text="不需要。", now=t0)
    session.commit()
    assert [m.subject for m in mailbox.to("asker@example.com")] == ["您的提问已回复：社区<矫正>服务"]
    for address in ("colleague@example.com", "bidder@example.com", "drafter@example.com", "both@example.com"):
        message = mailbox.one(to=address)
        assert message.subject == "项目答疑：社区<矫正>服务"
        assert "需要<场地>吗？" in message.text and "不需要。" in message.text
        assert "需要&lt;场地&gt;吗？" in message.html
        assert "asker@example.com" not in message.text and asker_org.name not in message.text  # no asker identity
    assert mailbox.to("bystander@example.com") == []

    everyone = {"asker@example.com", "colleague@example.com", "bidder@example.com", "drafter@example.com",
                "both@example.com"}
    mailbox.clear()
    tenders.amend(session, tender, {"service_place": "界湖街道社区中心"}, summary="服务地点更正", actor=None, now=t0,
                  rules=b.rules())
    session.commit()
    tenders.cancel(session, tender, reason="项目预算<取消>", actor=None, now=t0)
    session.commit()
    for address in everyone:
        assert sorted(_kinds(mailbox, address)) == ["更正公告", "终止公告"], address
    assert mailbox.to("bystander@example.com") == []
    for message in mailbox.messages:  # no email carries a bid's data
        assert "99999.99" not in message.text and "99999.99" not in message.html
        assert bidder_org.name not in message.text
    assert "项目预算&lt;取消&gt;" in mailbox.to("drafter@example.com")[-1].html


def test_opening_and_failed_notices_go_to_the_bidders(session, mailbox):
    from procure.tenders.cli import run_advance

    failing = b.published(title="只有一家投标的项目")
    lone_org, lone = _org("lone@example.com")
    b.submitted_bid(failing, who=(lone_org, lone))
    opened = b.published(title="正常开标的项目")
    bidders = [_org(f"opened{i}@example.com") for i in range(3)]
    for who in bidders:
        b.submitted_bid(opened, who=who)
    _org("watcher@example.com", follow="371321")
    b.pass_deadline(failing)
    b.pass_deadline(opened)
    mailbox.clear()
    assert run_advance() == {failing.id: "failed", opened.id: "opened"}
    assert [m.subject for m in mailbox.to("lone@example.com")] == ["流标公告：只有一家投标的项目"]
    assert "流标" in mailbox.one(to="lone@example.com").text
    for i in range(3):
        message = mailbox.one(to=f"opened{i}@example.com")
        assert message.subject == "开标结果：正常开标的项目" and "开标记录已公布" in message.text
        assert str(b.PRICE) not in message.text  # the record is on the site, not in the email
    assert mailbox.to("watcher@example.com") == []
    run_advance()
    assert len(mailbox) == 4  # once


def test_award_and_not_awarded_notices_carry_only_the_bidders_own_result(session, mailbox):
    from procure.evaluation.models import AwardNotice, NoticeKind
    from tests.evaluation import world

    w = world.build()
    mailbox.clear()
    world.awarded(session, w, now=datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc))
    notices = {n.organization_id: n for n in session.scalars(sa.select(AwardNotice))}
    assert len(notices) == 3 and len({n.total for n in notices.values()}) == 3
    for org, user in zip(w.orgs, w.bidder_users):
        notice = notices[org.id]
        [message] = mailbox.to(user.email)  # one email per member and event
        others = [str(n.total) for oid, n in notices.items() if oid != org.id]
        if notice.kind == NoticeKind.AWARDED:
            assert message.subject.startswith("成交通知书：") and notice.rank == 1
            assert f"评审总分 {notice.total}，排名第 1" in message.text
        else:
            assert message.subject.startswith("未成交通知：")
            assert f"评审总分：{notice.total}，排名：{notice.rank}" in message.text
        assert not any(total in message.text or total in message.html for total in others)  # nobody else's score
        assert not any(o.name in message.text for o in w.orgs if o.id != org.id)
        assert not any(str(x.price) in message.text for x in w.bids)  # no bid prices


def test_a_disqualified_bidder_is_told_its_reason(session, mailbox):
    from procure.evaluation import clocks, services
    from tests.evaluation import world

    w = world.build()
    ev = services.start(session, w.facts, officer=w.officer)
    ms = [services.add_member(session, ev, email=w.evaluators[i].email, chair=i == 0,
                              bidder_org_ids={x.organization_id for x in w.bids}, facts=w.facts,
                              invited_by=w.officer) for i in range(2)]
    for m in ms:
        services.declare(session, m, conflict=False)
    services.begin_review(session, ev, min_members=2)
    for x in w.bids:
        services.record_qualification(session, ev, x, passed=x.bid_id != w.b0,
                                      reason="营业执照<过期>" if x.bid_id == w.b0 else "", actor=w.officer)
    services.finish_review(session, ev, w.facts, w.bids)
    valid = {w.b1, w.b2}
    for m in ms:
        services.save_scores(session, m, w.facts, valid, {(bid, k): "20" for bid in valid for k in ("c0", "c1")})
        services.submit_sheet(session, m, w.facts, valid)
    services.submit_report(session, ev, ms[0], w.facts, w.bids)
    top = services.results(session, ev)[0]
    mailbox.clear()
    services.award(session, ev, w.facts, bid_id=top.bid_id, officer=w.officer,
                   add_workdays=clocks.platform_calendar(session), settings=services.ClockSettings(),
                   now=datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc))
    session.commit()
    message = mailbox.one(to=w.bidder_users[0].email)
    assert message.subject.startswith("未成交通知：") and "营业执照<过期>" in message.text
    assert "营业执照&lt;过期&gt;" in message.html


# --- officers' due work -------------------------------------------------------------


def test_officer_digest_lists_tenders_opening_today_and_questions_to_answer(app, session, mailbox):
    t0 = _t0()
    factories.officer("371321", email="duty@example.com")
    english = factories.officer("371321", email="english@example.com")
    english.locale = "en"
    session.commit()
    tender = b.published(t0)
    later = b.published(t0, title="下周开标")
    org, member = _org("q@example.com")
    tenders.ask(session, tender, organization=org, user=member, text="问一", now=t0, rules=b.rules())
    answered = tenders.ask(session, later, organization=org, user=member, text="问二", now=t0, rules=b.rules())
    tenders.ask(session, later, organization=org, user=member, text="问三", now=t0, rules=b.rules())
    tenders.answer(session, answered, actor=None, text="答", now=t0)
    session.commit()
    # The morning of the local day of the first tender's deadline; the other is a week later.
    deadline_local = localtime(as_utc(tender.bid_deadline), app.config["TIMEZONE"])
    session.execute(sa.update(type(later)).where(type(later).id == later.id)
                    .values(bid_deadline=tender.bid_deadline + timedelta(days=7)))
    session.commit()
    morning = deadline_local.replace(hour=7, minute=5, second=0)
    mailbox.clear()
    _run("officer_digest", morning.astimezone(timezone.utc))
    digest = mailbox.one(to="duty@example.com")
    assert "今日开标的项目：1" in digest.text
    assert "待回复的提问：2" in digest.text
    assert digest.link("/manage/tenders").startswith("http://127.0.0.1:5000/")
    translated = mailbox.one(to="english@example.com").text  # the labels in the officer's language
    assert "Tenders opening today" in translated and "Questions to answer" in translated


def test_due_work_sources_for_challenges_and_contracts(app, session):
    """Challenge replies due within 2 working days (the working calendar) and
    contracts due within 5 days, counted per county."""
    from procure.challenges import queries as challenge_queries
    from procure.challenges.models import Challenge, ChallengeStatus, ChallengeSubject
    from procure.contracts import queries as contract_queries
    from tests.evaluation import world

    w = world.build()
    county = factories.county("371321").id
    # Friday 2026-10-09 10:00 Beijing (after the National Day week; Sat 10-10 is a make-up workday).
    now = datetime(2026, 10, 9, 2, 0, tzinfo=timezone.utc)

    def challenge(due_local_day: str):
        day = datetime.fromisoformat(due_local_day + "T23:59:59+08:00").astimezone(timezone.utc)
        session.add(Challenge(tender_id=w.tender.id, county_id=county, organization_id=w.orgs[0].id,
                              subject=ChallengeSubject.RESULT, text="质疑", filed_at=now, window_ends_at=now,
                              reply_due_at=day, status=ChallengeStatus.PENDING))

    challenge("2026-10-10")  # 1 working day after Friday (Saturday is worked)
    challenge("2026-10-12")  # Monday: 2 working days after 10-09
    challenge("2026-10-13")  # 3 working days: not yet
    session.flush()
    config = app.config
    [item] = challenge_queries.replies_due(session, {county}, now, config)
    assert item.count == 2 and item.link == "/manage/challenges"
    assert challenge_queries.replies_due(session, {factories.county("371302").id}, now, config) == []

    # An award whose contract must be signed within 30 days of the notice.
    _ev, award = world.awarded(session, w, now=now)
    limit = as_utc(award.contract_deadline_at)
    assert contract_queries.contracts_due(session, {county}, limit - timedelta(days=6), config) == []
    [item] = contract_queries.contracts_due(session, {county}, limit - timedelta(days=4), config)
    assert item.count == 1 and item.link == "/manage/contracts"
    [item] = contract_queries.contracts_due(session, {county}, limit + timedelta(days=1), config)  # overdue
    assert item.count == 1


def test_members_who_chose_a_daily_digest_get_yesterdays_tenders_once(app, session, mailbox):
    from procure.alerts import preferences

    org, each = _org("each@example.com", follow="371321")
    daily = factories.org_member(org, email="daily@example.com")
    preferences.set_value(session, daily.id, preferences.TENDER_ALERTS, preferences.DIGEST)
    session.commit()
    published = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai, 2026-12-01
    tender = b.published(published, title="社区<养老>服务", bid_deadline=utcnow() + timedelta(days=30),
                         enquiry_deadline=utcnow() + timedelta(days=10))
    mailbox.clear()
    next_morning = datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc)  # 07:00 on 12-02 in Shanghai
    _run("alerts_digest", next_morning)
    _run("alerts_digest", next_morning + timedelta(minutes=5))
    digest = mailbox.one(to="daily@example.com")
    assert digest.subject == "每日新项目摘要（2026-12-01）：1 个项目"
    assert tender.title in digest.text and "社区&lt;养老&gt;服务" in digest.html
    assert digest["List-Unsubscribe"]
    assert mailbox.to("each@example.com") == []  # "each" members got (or get) the single alert instead
