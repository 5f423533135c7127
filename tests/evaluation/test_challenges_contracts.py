"""Challenges (windows, reply due date, blocking, overdue flag), contracts
(30-day limit, term limits, flag before the limit) and performance evaluation,
through the services on the database."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from procure.challenges import services as challenges
from procure.challenges.models import ChallengeStatus
from procure.contracts import services as contracts
from procure.contracts.models import Grade
from procure.errors import DomainError
from procure.evaluation import clocks
from procure.notifications.models import Notification
from tests.evaluation import world as world_mod
from tests.evaluation.test_services import _award, _scored, fast_passwords  # noqa: F401
from tests.organizations import files

SH = ZoneInfo("Asia/Shanghai")
# The award of the worked example is published on Wed 2026-09-30 10:00 Beijing:
# publicity ends 24:00 Thu 10-08 (10-01..10-07 off); challenges on the result
# until 24:00 Fri 10-16 (10-09, Sat 10-10 make-up, 10-12 .. 10-16); contract
# by 24:00 Fri 10-30 (30 calendar days).
AWARD_AT = datetime(2026, 9, 30, 10, 0, tzinfo=SH)


def bj(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture(scope="module")
def _awarded_world(app):
    """The worked example awarded to b1 on AWARD_AT, built and committed ONCE
    for the module: every test here only flushes, and is rolled back."""
    from procure.evaluation import services
    from procure.extensions import db
    from tests.conftest import _truncate

    with app.app_context():
        with pytest.MonkeyPatch.context() as mp:
            world_mod.fast_passwords(mp)
            session = db.session
            w = world_mod.build()
            ev, (chair, _s) = _scored(session, w)
            services.submit_report(session, ev, chair, w.facts, w.bids)
            award = _award(session, w, ev, w.b1, now=AWARD_AT)
            session.commit()
            yield w, award
        db.session.rollback()
        _truncate()
        db.session.remove()


@pytest.fixture
def session(_awarded_world):
    """The module's session (its world stays); what a test flushes is rolled back."""
    from procure.extensions import db

    yield db.session
    db.session.rollback()


@pytest.fixture
def awarded(_awarded_world, session):
    w, award = _awarded_world
    return dataclasses.replace(w), award


def _file(session, w, award, *, now, subject="result", org_index=0, tmp_path=None, evidence=()):
    return challenges.file(
        session, w.facts, organization_id=w.orgs[org_index].id, bidder_org_ids={b.organization_id for b in w.bids},
        user=w.bidder_users[org_index], subject=subject, text="评分不公", evidence=evidence, award=award,
        add_workdays=clocks.platform_calendar(session), settings=challenges.ChallengeSettings(),
        upload_root=tmp_path or "/tmp/procure-test-challenges", max_bytes=10**6, now=now,
    )


# --- challenge windows ------------------------------------------------------------


def test_result_challenge_on_the_last_day_is_accepted_with_a_7wd_reply_due(session, awarded, tmp_path):
    w, award = awarded
    c = _file(session, w, award, now=bj(2026, 10, 16, 23, 59), tmp_path=tmp_path,
              evidence=[challenges.Evidence("评分表.pdf", files.pdf())])
    # Filed Fri 10-16: reply due 7 wd later: 10-19 .. 10-23 (5), 10-26 (6), 10-27 (7).
    assert clocks.last_day(c.reply_due_at) == date(2026, 10, 27)
    assert len(c.files) == 1 and c.files[0].content_type == "application/pdf"
    # The officers are told, with the due date.
    note = session.scalar(select(Notification).where(Notification.event_key == f"challenge.filed:{c.id}"))
    assert note is not None and "2026-10-27" in note.body_text


def test_late_result_challenge_is_refused_with_the_computed_deadline(session, awarded):
    w, award = awarded
    with pytest.raises(DomainError) as exc:
        _file(session, w, award, now=bj(2026, 10, 17, 0, 0))
    assert "2026-10-16 24:00" in str(exc.value.message)


def test_document_challenge_window_counts_working_days_from_publication(session, awarded):
    w, award = awarded  # (a copy of the module's world: its facts may be replaced)
    w.facts = dataclasses.replace(w.facts, published_at=bj(2026, 9, 1, 9))
    # Published 2026-09-01 09:00 Beijing (Tue): 7 wd → 09-02 .. 09-04, 09-07 .. 09-10: until 24:00 09-10.
    with pytest.raises(DomainError, match="2026-09-10 24:00"):
        _file(session, w, award, subject="documents", now=bj(2026, 9, 11, 8))


def test_only_bidders_challenge_the_result(session, awarded):
    from tests import factories

    w, award = awarded
    outsider = factories.organization("371321")
    with pytest.raises(DomainError, match="投标人"):
        challenges.file(session, w.facts, organization_id=outsider.id, bidder_org_ids={b.organization_id for b in w.bids},
                        user=w.bidder_users[0], subject="result", text="x", award=award,
                        add_workdays=clocks.platform_calendar(session), settings=challenges.ChallengeSettings(),
                        upload_root="/tmp", max_bytes=10**6, now=bj(2026, 10, 9))


def test_evidence_is_checked_by_content(session, awarded, tmp_path):
    w, award = awarded
    with pytest.raises(DomainError):
        _file(session, w, award, now=bj(2026, 10, 9), tmp_path=tmp_path,
              evidence=[challenges.Evidence("evidence.pdf", files.exe())])


def test_reply_is_recorded_and_shown_to_the_challenger(session, awarded):
    w, award = awarded
    c = _file(session, w, award, now=bj(2026, 10, 9))
    with pytest.raises(DomainError):
        challenges.reply(session, c, officer=w.officer, upheld=False, text=" ")
    challenges.reply(session, c, officer=w.officer, upheld=False, text="评分符合评审办法。")
    assert c.status == ChallengeStatus.REJECTED
    assert session.scalar(select(Notification).where(Notification.event_key == f"challenge.reply:{c.id}",
                                                     Notification.recipient_user_id == w.bidder_users[0].id))
    with pytest.raises(DomainError):
        challenges.reply(session, c, officer=w.officer, upheld=True, text="再次答复")


def test_overdue_reply_is_flagged_once(session, awarded):
    w, award = awarded
    c = _file(session, w, award, now=bj(2026, 10, 9, 10))
    # Filed Fri 10-09: Sat 10-10 (1, make-up), 10-12 .. 10-16 (2-6), 10-19 (7): due 24:00 on 10-19.
    assert clocks.last_day(c.reply_due_at) == date(2026, 10, 19)
    assert challenges.flag_overdue(session, now=bj(2026, 10, 19, 23, 59)) == []
    assert [x.id for x in challenges.flag_overdue(session, now=bj(2026, 10, 20, 0, 0))] == [c.id]
    assert challenges.flag_overdue(session, now=bj(2026, 10, 21)) == []
    assert session.scalar(select(Notification).where(Notification.event_key == f"challenge.overdue:{c.id}"))


# --- contracts ------------------------------------------------------------------------


def _contract(session, w, award, *, signed_on, now, starts_on=date(2026, 11, 1), ends_on=date(2027, 10, 31),
              recurring=False, tmp_path="/tmp/procure-test-contracts"):
    return contracts.record(
        session, award,
        contracts.ContractData(number="YN-2026-007", amount="100000.00", signed_on=signed_on, starts_on=starts_on,
                               ends_on=ends_on, recurring=recurring, filename="合同.pdf", data=files.pdf()),
        county_id=w.facts.county_id, officer=w.officer, settings=contracts.ContractSettings(),
        upload_root=tmp_path, max_bytes=10**6, now=now,
    )


def test_pending_challenge_blocks_the_contract(session, awarded):
    w, award = awarded
    c = _file(session, w, award, now=bj(2026, 10, 9))
    with pytest.raises(DomainError, match="质疑"):
        _contract(session, w, award, signed_on=date(2026, 10, 20), now=bj(2026, 10, 20, 12))
    challenges.reply(session, c, officer=w.officer, upheld=False, text="不成立")
    assert _contract(session, w, award, signed_on=date(2026, 10, 20), now=bj(2026, 10, 20, 12)).id


def test_contract_within_30_days_of_the_result_notice(session, awarded):
    w, award = awarded
    # Notice 09-30: the 30th day after it is 10-30; 10-31 is too late.
    with pytest.raises(DomainError, match="2026-10-30"):
        _contract(session, w, award, signed_on=date(2026, 10, 31), now=bj(2026, 11, 2, 9))
    assert _contract(session, w, award, signed_on=date(2026, 10, 30), now=bj(2026, 11, 2, 9)).id


def test_contract_not_before_the_publicity_ends(session, awarded):
    w, award = awarded
    with pytest.raises(DomainError, match="公示"):
        _contract(session, w, award, signed_on=date(2026, 10, 8), now=bj(2026, 10, 8, 12))


def test_contract_term_within_the_configured_limits(session, awarded):
    w, award = awarded
    # 1 year from 11-01: until 2027-10-31; one day more is refused.
    with pytest.raises(DomainError, match="12"):
        _contract(session, w, award, signed_on=date(2026, 10, 20), now=bj(2026, 10, 21),
                  ends_on=date(2027, 11, 1))
    # A stable recurring service may run 3 years: until 2029-10-31.
    with pytest.raises(DomainError, match="36"):
        _contract(session, w, award, signed_on=date(2026, 10, 20), now=bj(2026, 10, 21),
                  ends_on=date(2029, 11, 1), recurring=True)
    assert _contract(session, w, award, signed_on=date(2026, 10, 20), now=bj(2026, 10, 21),
                     ends_on=date(2029, 10, 31), recurring=True).id


def test_tender_without_contract_is_flagged_5_days_before_the_limit(session, awarded):
    w, award = awarded
    settings = contracts.ContractSettings()
    # Limit: 24:00 on 10-30 (= 10-31 00:00); flagged from 10-26 00:00 (5 days before).
    assert contracts.contract_flag(award, None, settings, bj(2026, 10, 25, 23, 59)) is None
    assert contracts.contract_flag(award, None, settings, bj(2026, 10, 26, 0, 0)) == "due_soon"
    assert contracts.contract_flag(award, None, settings, bj(2026, 10, 31, 0, 0)) == "overdue"


# --- performance evaluation -----------------------------------------------------------


def test_performance_total_and_grade(session, awarded):
    w, award = awarded
    contract = _contract(session, w, award, signed_on=date(2026, 10, 20), now=bj(2026, 10, 21))
    ind = contracts.IndicatorData
    # 38.5 + 27 + 20 = 85.50 → 良好 (80 ≤ total < 90)
    pe = contracts.record_performance(session, contract, [
        ind("output", "服务人次完成率", "40", "38.5"),
        ind("effect", "老人生活质量改善", "35", "27"),
        ind("satisfaction", "服务对象满意度", "25", "20"),
    ], officer=w.officer, upload_root="/tmp/procure-test-perf", max_bytes=10**6)
    assert pe.total == D("85.50") and pe.grade == Grade.GOOD
    assert contracts.grade_for(D("90.00")) == Grade.EXCELLENT
    assert contracts.grade_for(D("89.99")) == Grade.GOOD
    assert contracts.grade_for(D("59.99")) == Grade.FAIL
    with pytest.raises(DomainError, match="100"):
        contracts.record_performance(session, contract, [
            ind("output", "a", "40", "1"), ind("effect", "b", "35", "1"), ind("satisfaction", "c", "20", "1"),
        ], officer=w.officer, upload_root="/tmp", max_bytes=10**6)
    with pytest.raises(DomainError):
        contracts.record_performance(session, contract, [
            ind("output", "a", "40", "41"), ind("effect", "b", "35", "1"), ind("satisfaction", "c", "25", "1"),
        ], officer=w.officer, upload_root="/tmp", max_bytes=10**6)
