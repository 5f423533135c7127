"""Committee, qualification, independent scoring, report, 废标 and award
through the services, on the database (PostgreSQL and SQLite)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from procure.accounts.models import Role, User
from procure.errors import DomainError
from procure.evaluation import clocks, services
from procure.evaluation.models import (
    AwardNotice,
    EvaluationResult,
    EvaluationState,
    MemberKind,
    MemberStatus,
    NoticeKind,
)
from procure.notifications.models import Notification
from tests import factories
from tests.evaluation import world as world_mod

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch):
    world_mod.fast_passwords(monkeypatch)


@pytest.fixture
def w(session):
    return world_mod.build()


def bidders(w):
    return {b.organization_id for b in w.bids}


def committee(session, w, *, members=2):
    ev = services.start(session, w.facts, officer=w.officer)
    out = []
    for i in range(members):
        out.append(services.add_member(session, ev, email=w.evaluators[i].email, chair=(i == 0),
                                       bidder_org_ids=bidders(w), facts=w.facts, invited_by=w.officer))
    return ev, out


def declared_committee(session, w, members=2):
    ev, ms = committee(session, w, members=members)
    for m in ms:
        services.declare(session, m, conflict=False)
    services.begin_review(session, ev, min_members=2)
    return ev, ms


def all_qualified(session, ev, w, failed=()):
    for b in w.bids:
        services.record_qualification(session, ev, b, passed=b.bid_id not in failed,
                                      reason="营业执照过期" if b.bid_id in failed else "", actor=w.officer)
    services.finish_review(session, ev, w.facts, w.bids)


def score_all(session, ev, w, ms, sheets):
    """sheets[i][bid_id] = (plan, team) for member i."""
    valid = {b.bid_id for b in w.bids if b.bid_id in sheets[0]}
    for m, sheet in zip(ms, sheets):
        services.save_scores(session, m, w.facts, valid, {
            (bid, key): value for bid, (plan, team) in sheet.items() for key, value in (("c0", plan), ("c1", team))
        })
        services.submit_sheet(session, m, w.facts, valid)


# --- the committee ---------------------------------------------------------------


def test_new_evaluator_is_invited_by_email_with_an_account(session, w):
    ev = services.start(session, w.facts, officer=w.officer)
    member = services.add_member(session, ev, email="New.Expert@Example.com", name="王专家", chair=True,
                                 bidder_org_ids=bidders(w), facts=w.facts, invited_by=w.officer)
    session.commit()
    user = session.scalar(select(User).where(User.email == "new.expert@example.com"))
    assert member.user_id == user.id and user.has_role(Role.EVALUATOR)
    note = session.scalar(select(Notification).where(Notification.event_key == f"evaluation.invite:{member.id}"))
    assert note is not None and "/account/reset/" in (note.link or "")


def test_existing_user_without_the_evaluator_role_is_refused(session, w):
    ev = services.start(session, w.facts, officer=w.officer)
    plain = factories.user()
    with pytest.raises(DomainError):
        services.add_member(session, ev, email=plain.email, bidder_org_ids=bidders(w), facts=w.facts,
                            invited_by=w.officer)


def test_member_of_a_bidding_organization_is_refused(session, w):
    from procure.accounts.models import RoleAssignment

    expert = w.evaluators[0]
    session.add(RoleAssignment(user=expert, role=Role.ORG_MEMBER, organization_id=w.orgs[1].id))
    session.commit()
    session.expire(expert, ["roles"])
    ev = services.start(session, w.facts, officer=w.officer)
    with pytest.raises(DomainError, match="投标机构"):
        services.add_member(session, ev, email=expert.email, bidder_org_ids=bidders(w), facts=w.facts,
                            invited_by=w.officer)


def test_purchaser_representative_may_not_chair_and_is_a_township_officer(session, w):
    ev = services.start(session, w.facts, officer=w.officer)
    rep = factories.township_officer("371321101")
    with pytest.raises(DomainError, match="主任"):
        services.add_member(session, ev, email=rep.email, kind=MemberKind.PURCHASER, chair=True,
                            bidder_org_ids=bidders(w), facts=w.facts, invited_by=w.officer)
    member = services.add_member(session, ev, email=rep.email, kind=MemberKind.PURCHASER,
                                 bidder_org_ids=bidders(w), facts=w.facts, invited_by=w.officer)
    assert member.kind == MemberKind.PURCHASER and not member.is_chair
    other = factories.township_officer("371321102")
    with pytest.raises(DomainError):
        services.add_member(session, ev, email=other.email, kind=MemberKind.PURCHASER,
                            bidder_org_ids=bidders(w), facts=w.facts, invited_by=w.officer)


def test_declared_conflict_removes_the_member_and_asks_the_officer(session, w):
    ev, (chair, second) = committee(session, w)
    services.declare(session, chair, conflict=False)
    services.declare(session, second, conflict=True, note="曾在投标机构任职", officers=[w.officer], facts=w.facts)
    session.commit()
    assert second.status == MemberStatus.CONFLICTED and not second.active
    assert session.scalar(select(Notification).where(
        Notification.event_key == f"evaluation.conflict:{second.id}", Notification.recipient_user_id == w.officer.id))
    # The committee now has one active member: the review cannot begin ...
    with pytest.raises(DomainError):
        services.begin_review(session, ev, min_members=2)
    # ... until a replacement has declared.
    third = services.add_member(session, ev, email=w.evaluators[2].email, bidder_org_ids=bidders(w),
                                facts=w.facts, invited_by=w.officer)
    with pytest.raises(DomainError):
        services.begin_review(session, ev, min_members=2)
    services.declare(session, third, conflict=False)
    services.begin_review(session, ev, min_members=2)
    assert ev.state == EvaluationState.REVIEW


def test_a_conflict_needs_an_explanation(session, w):
    ev, (chair, _second) = committee(session, w)
    with pytest.raises(DomainError):
        services.declare(session, chair, conflict=True, note="  ")


# --- qualification and 废标 ---------------------------------------------------------


def test_failing_a_bid_needs_a_written_reason(session, w):
    ev, _ = declared_committee(session, w)
    with pytest.raises(DomainError, match="理由"):
        services.record_qualification(session, ev, w.bids[0], passed=False, reason=" ", actor=w.officer)


def test_fewer_valid_bids_than_the_minimum_fails_the_tender(session):
    w = world_mod.build(min_bids=3)
    ev, _ = declared_committee(session, w)
    all_qualified(session, ev, w, failed={w.b1})
    assert ev.state == EvaluationState.FAILED
    assert "2" in ev.failed_reason and "3" in ev.failed_reason


def test_enough_valid_bids_go_to_scoring(session):
    w = world_mod.build(min_bids=2)
    ev, _ = declared_committee(session, w)
    all_qualified(session, ev, w, failed={w.b1})
    assert ev.state == EvaluationState.SCORING


# --- scoring, report ---------------------------------------------------------------


def test_scores_must_be_within_the_criterion_range(session, w):
    ev, (chair, _second) = declared_committee(session, w)
    all_qualified(session, ev, w)
    valid = {b.bid_id for b in w.bids}
    with pytest.raises(DomainError):
        services.save_scores(session, chair, w.facts, valid, {(w.b0, "c0"): "40.5"})  # plan is worth 40
    with pytest.raises(DomainError):
        services.save_scores(session, chair, w.facts, valid, {(w.b0, "c0"): "-1"})
    with pytest.raises(DomainError):
        services.save_scores(session, chair, w.facts, valid, {(w.b0, "c0"): "abc"})
    services.save_scores(session, chair, w.facts, valid, {(w.b0, "c0"): "40"})


def test_a_submitted_sheet_is_sealed_and_incomplete_sheets_are_refused(session, w):
    ev, (chair, _second) = declared_committee(session, w)
    all_qualified(session, ev, w)
    valid = {b.bid_id for b in w.bids}
    services.save_scores(session, chair, w.facts, valid, {(w.b0, "c0"): "30"})
    with pytest.raises(DomainError):
        services.submit_sheet(session, chair, w.facts, valid)
    services.save_scores(session, chair, w.facts, valid, {(b, k): "20" for b in valid for k in ("c0", "c1")})
    services.submit_sheet(session, chair, w.facts, valid)
    with pytest.raises(DomainError):
        services.save_scores(session, chair, w.facts, valid, {(w.b0, "c0"): "10"})


def _scored(session, w):
    ev, ms = declared_committee(session, w)
    all_qualified(session, ev, w)
    # Weight 30; prices 80,000 (bid b0), 100,000 (b1), 95,000 (b2).
    # Price scores: 30.00, 24.00, 80,000/95,000×30 = 25.263… → 25.26.
    # Member 1 (plan, team):  b0: (30, 20)  b1: (38, 28)  b2: (33, 25)
    # Member 2 (plan, team):  b0: (31, 21)  b1: (37, 27)  b2: (34, 24)
    # Committee plan: b0 30.5, b1 37.5, b2 33.5; team: b0 20.5, b1 27.5, b2 24.5
    # Totals: b0 30.00+30.50+20.50 = 81.00
    #         b1 24.00+37.50+27.50 = 89.00
    #         b2 25.26+33.50+24.50 = 83.26   → ranks b1, b2, b0
    score_all(session, ev, w, ms, [
        {w.b0: ("30", "20"), w.b1: ("38", "28"), w.b2: ("33", "25")},
        {w.b0: ("31", "21"), w.b1: ("37", "27"), w.b2: ("34", "24")},
    ])
    return ev, ms


def test_report_freezes_the_ranking_of_the_worked_example(session, w):
    ev, (chair, second) = _scored(session, w)
    with pytest.raises(DomainError):  # only the chair reports
        services.submit_report(session, ev, second, w.facts, w.bids)
    services.submit_report(session, ev, chair, w.facts, w.bids, text="一致同意")
    session.commit()
    rows = services.results(session, ev)
    assert [(r.bid_id, r.rank, r.total) for r in rows] == [
        (w.b1, 1, D("89.00")), (w.b2, 2, D("83.26")), (w.b0, 3, D("81.00"))]
    assert rows[1].price_score == D("25.26")
    assert rows[1].criterion_scores == {"c0": "33.50", "c1": "24.50"}  # plan, team
    assert ev.state == EvaluationState.REPORTED
    # Read-only from now on: no score changes, no second report.
    with pytest.raises(DomainError):
        services.save_scores(session, second, w.facts, {w.b0}, {(w.b0, "c0"): "1"})
    with pytest.raises(DomainError):
        services.submit_report(session, ev, chair, w.facts, w.bids)


def test_report_waits_for_every_sheet(session, w):
    ev, (chair, second) = declared_committee(session, w)
    all_qualified(session, ev, w)
    valid = {b.bid_id for b in w.bids}
    services.save_scores(session, chair, w.facts, valid, {(b, k): "20" for b in valid for k in ("c0", "c1")})
    services.submit_sheet(session, chair, w.facts, valid)
    with pytest.raises(DomainError, match="未提交"):
        services.submit_report(session, ev, chair, w.facts, w.bids)


def test_lowest_price_method_ranks_by_price_without_sheets(session):
    w = world_mod.build(comprehensive=False)
    ev, (chair, _second) = declared_committee(session, w)
    all_qualified(session, ev, w)
    services.submit_report(session, ev, chair, w.facts, w.bids)
    assert [(r.bid_id, r.rank) for r in services.results(session, ev)] == [(w.b0, 1), (w.b2, 2), (w.b1, 3)]


# --- award -------------------------------------------------------------------------


def _award(session, w, ev, bid_id, reason="", now=None):
    return services.award(
        session, ev, w.facts, bid_id=bid_id, reason=reason, officer=w.officer,
        add_workdays=clocks.platform_calendar(session), settings=services.ClockSettings(),
        now=now or datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc),
    )


def test_award_to_another_than_the_top_needs_a_reason(session, w):
    ev, (chair, _s) = _scored(session, w)
    services.submit_report(session, ev, chair, w.facts, w.bids)
    with pytest.raises(DomainError, match="理由"):
        _award(session, w, ev, w.b2)
    record = _award(session, w, ev, w.b2, reason="排名第一的供应商放弃成交")
    assert record.amount == D("95000.00") and record.reason


def test_award_publicity_deadlines_and_notices_to_every_bidder(session, w):
    ev, (chair, _s) = _scored(session, w)
    # Disqualify nothing; award the top (bid b1) on Wed 2026-09-30 10:00 Beijing.
    services.submit_report(session, ev, chair, w.facts, w.bids)
    record = _award(session, w, ev, w.b1)
    session.commit()
    # Publicity 1 wd: 09-30 not counted, 10-01..10-07 off → ends 24:00 on Thu 10-08.
    assert clocks.last_day(record.publicity_ends_at) == date(2026, 10, 8)
    # Challenges until 7 wd after: 10-09, Sat 10-10, 10-12, 13, 14, 15, 16.
    assert clocks.last_day(record.challenge_deadline_at) == date(2026, 10, 16)
    # Contract within 30 d of the notice (09-30): until 24:00 on 10-30.
    assert clocks.last_day(record.contract_deadline_at) == date(2026, 10, 30)
    notices = {n.bid_id: n for n in session.scalars(select(AwardNotice))}
    assert notices[w.b1].kind == NoticeKind.AWARDED
    assert (notices[w.b0].kind, notices[w.b0].rank, notices[w.b0].total) == (NoticeKind.NOT_AWARDED, 3, D("81.00"))
    assert (notices[w.b2].rank, notices[w.b2].total) == (2, D("83.26"))
    # Each bidder's member got the notice with its own figures, in the same transaction.
    loser = w.bidder_users[0]  # bid b0
    note = session.scalar(select(Notification).where(Notification.recipient_user_id == loser.id,
                                                     Notification.event_key.like("award.not_awarded:%")))
    assert note is not None and "81.00" in note.body_text and "3" in note.body_text
    winner = session.scalar(select(Notification).where(Notification.recipient_user_id == w.bidder_users[1].id,
                                                       Notification.event_key.like("award.awarded:%")))
    assert winner is not None
    assert ev.state == EvaluationState.AWARDED


def test_disqualified_bidder_gets_its_reason(session, w):
    ev, ms = declared_committee(session, w)
    all_qualified(session, ev, w, failed={w.b0})
    score_all(session, ev, w, ms, [{w.b1: ("30", "20"), w.b2: ("30", "20")}, {w.b1: ("30", "20"), w.b2: ("30", "20")}])
    services.submit_report(session, ev, ms[0], w.facts, w.bids)
    with pytest.raises(DomainError):
        _award(session, w, ev, w.b0)  # a disqualified bid cannot win
    _award(session, w, ev, w.b2)
    notice = session.scalar(select(AwardNotice).where(AwardNotice.bid_id == w.b0))
    assert notice.disqualification_reason == "营业执照过期" and notice.rank is None
    row = session.scalar(select(EvaluationResult).where(EvaluationResult.bid_id == w.b0))
    assert not row.qualified
