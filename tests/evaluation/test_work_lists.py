"""The officers' and evaluators' work lists are paged in SQL
(``WORK_LIST_PAGE_SIZE`` rows, here 2): the challenges to answer and the
answered ones (each with its own page number), the contracts due, the
evaluations assigned to an evaluator. Every row is on exactly one page, in the
list's order, and a page costs the same queries with one row or many."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from procure.challenges.models import Challenge, ChallengeStatus
from procure.evaluation.models import Award, CommitteeMember, Evaluation, EvaluationState, MemberStatus
from procure.timeutil import utcnow
from tests.evaluation import world as world_mod
from tests.querycount import assert_constant_queries

PER_PAGE = 2


@pytest.fixture(autouse=True)
def small_pages(app, monkeypatch):
    world_mod.fast_passwords(monkeypatch)
    monkeypatch.setitem(app.config, "WORK_LIST_PAGE_SIZE", PER_PAGE)


@pytest.fixture
def awarded(app, session):
    w = world_mod.build()
    _ev, award = world_mod.awarded(session, w, now=utcnow() - timedelta(days=3))
    return w, award


def _pages(client, path, pattern, *, param="page"):
    """The matches of ``pattern`` on each page of the list, following the pages
    by number until the page says it is the last."""
    pages, number = [], 1
    while True:
        html = client.get(f"{path}?{param}={number}").get_data(as_text=True)
        pages.append(re.findall(pattern, html))
        if 'rel="next"' not in html:
            return pages
        number += 1
        assert number < 50


def _extra_awards(session, award, count):
    """More awards still without a contract (on evaluations of the same
    tender), each with its own amount, due later than the real one."""
    rows = []
    for i in range(count):
        ev = Evaluation(tender_id=award.tender_id, current=False, state=EvaluationState.AWARDED)
        session.add(ev)
        session.flush()
        rows.append(Award(
            evaluation_id=ev.id, tender_id=award.tender_id, bid_id=award.bid_id,
            organization_id=award.organization_id, amount=Decimal(1001 + i),
            notice_published_at=award.notice_published_at, publicity_ends_at=award.publicity_ends_at,
            challenge_deadline_at=award.challenge_deadline_at,
            contract_deadline_at=award.contract_deadline_at + timedelta(hours=i + 1),
        ))
    session.add_all(rows)
    session.commit()


def test_contracts_due_are_paged(app, session, awarded):
    w, award = awarded
    client, _token = world_mod.client_as(app, w.officer)
    assert_constant_queries(client, "/manage/contracts", grow=lambda: _extra_awards(session, award, 4))
    pages = _pages(client, "/manage/contracts", r"<td>(\d+\.\d\d)</td>")
    assert [len(p) for p in pages] == [2, 2, 1]
    amounts = [a for page in pages for a in page]
    # Nearest limit first: the real award, then the extra ones in their order; none twice, none lost.
    assert amounts == [f"{award.amount:.2f}", "1001.00", "1002.00", "1003.00", "1004.00"]
    # A page past the end is the last page; a bad page number is page 1.
    last = client.get("/manage/contracts?page=99").get_data(as_text=True)
    assert re.findall(r"<td>(\d+\.\d\d)</td>", last) == ["1004.00"]
    assert re.findall(r"<td>(\d+\.\d\d)</td>", client.get("/manage/contracts?page=x").get_data(as_text=True)) == \
        pages[0]


def _challenge_rows(session, template: Challenge, count: int, *, answered: bool):
    now = utcnow()
    for i in range(count):
        session.add(Challenge(
            tender_id=template.tender_id, county_id=template.county_id, organization_id=template.organization_id,
            subject=template.subject, text=f"质疑 {i}", filed_at=now, window_ends_at=template.window_ends_at,
            reply_due_at=template.reply_due_at + timedelta(hours=i + 1),
            status=ChallengeStatus.REJECTED if answered else ChallengeStatus.PENDING,
            reply="不成立" if answered else "", replied_at=now - timedelta(hours=i) if answered else None,
        ))
    session.commit()


def test_challenges_to_answer_and_answered_are_paged_each_on_its_own(app, session, awarded):
    w, award = awarded
    loser = next(i for i, o in enumerate(w.orgs) if o.id != award.organization_id)
    bidder, token = world_mod.client_as(app, w.bidder_users[loser])
    assert bidder.post(f"/tenders/{w.tender.id}/challenges/new",
                       data={"csrf_token": token, "subject": "result", "text": "评分不公"}).status_code == 302
    first = session.scalar(select(Challenge))
    officer, _token = world_mod.client_as(app, w.officer)

    def grow():
        _challenge_rows(session, first, 4, answered=False)
        _challenge_rows(session, first, 3, answered=True)

    assert_constant_queries(officer, "/manage/challenges", grow=grow)
    pending_ids = [c.id for c in session.scalars(
        select(Challenge).where(Challenge.status == ChallengeStatus.PENDING)
        .order_by(Challenge.reply_due_at, Challenge.id))]
    answered_ids = [c.id for c in session.scalars(
        select(Challenge).where(Challenge.status != ChallengeStatus.PENDING)
        .order_by(Challenge.replied_at.desc(), Challenge.id.desc()))]
    assert len(pending_ids) == 5 and len(answered_ids) == 3

    table = r'data-testid="pending-challenges".*?</table>'
    pages = [re.findall(r'href="/manage/challenges/(\d+)"', re.search(table, html, re.S).group(0))
             for html in (officer.get(f"/manage/challenges?page={n}").get_data(as_text=True) for n in (1, 2, 3))]
    assert [int(i) for page in pages for i in page] == pending_ids and [len(p) for p in pages] == [2, 2, 1]

    listing = r'data-testid="answered-challenges".*?</ul>'
    html = officer.get("/manage/challenges?page=2&answered=2").get_data(as_text=True)
    second = re.findall(r'href="/manage/challenges/(\d+)"', re.search(listing, html, re.S).group(0))
    assert [int(i) for i in second] == answered_ids[2:]
    # Each pager keeps the other list's page.
    assert "page=2&amp;answered=1" in html or "answered=1&amp;page=2" in html
    assert re.findall(r'href="/manage/challenges/(\d+)"', re.search(table, html, re.S).group(0)) == pages[1]


def test_assigned_evaluations_are_paged(app, session, awarded):
    w, _award = awarded
    evaluator = w.evaluators[0]
    client, _token = world_mod.client_as(app, evaluator)

    def grow():
        for _ in range(4):
            ev = Evaluation(tender_id=w.tender.id, current=False, state=EvaluationState.REOPENED)
            session.add(ev)
            session.flush()
            session.add(CommitteeMember(evaluation_id=ev.id, user_id=evaluator.id, status=MemberStatus.DECLARED))
        session.commit()

    assert_constant_queries(client, "/evaluations", grow=grow)
    expected = [e for e in session.scalars(
        select(CommitteeMember.evaluation_id).where(CommitteeMember.user_id == evaluator.id)
        .order_by(CommitteeMember.evaluation_id.desc()))]
    assert len(expected) == 5
    pages = _pages(client, "/evaluations", r'href="/evaluations/(\d+)"')
    assert [int(i) for page in pages for i in page] == expected and [len(p) for p in pages] == [2, 2, 1]
