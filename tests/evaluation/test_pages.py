"""The challenge, contract and performance pages that change data, through the
test client (each test its own world): bad input leaves stored data untouched
with a message; an upheld challenge re-opens the evaluation or cancels the
tender; a pending challenge blocks the contract; the officers' lists show the
flags."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from procure.challenges.models import Challenge, ChallengeStatus
from procure.contracts.models import Contract, PerformanceEvaluation
from procure.evaluation import clocks, queries
from procure.evaluation.models import Award, Evaluation, EvaluationState
from procure.tenders.models import Tender, TenderStatus
from procure.timeutil import utcnow
from tests.evaluation import world as world_mod
from tests.organizations import files


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    world_mod.fast_passwords(monkeypatch)


def _post(app, user, path, files_=None, **data):
    client, token = world_mod.client_as(app, user)
    data["csrf_token"] = token
    if files_:
        data.update(files_)
    return client.post(path, data=data, content_type="multipart/form-data" if files_ else None)


def _flashes(app, user, path):
    client, _token = world_mod.client_as(app, user)
    return client.get(path).get_data(as_text=True)


def _tag_text(html, element_id):
    """The markup from the element with ``element_id`` on (its messages)."""
    start = html.index(f'id="{element_id}"')
    return html[start:start + 400]


def _awarded(session, *, days_ago=0, hours_ago=1):
    w = world_mod.build()
    ev, award = world_mod.awarded(session, w, now=utcnow() - timedelta(days=days_ago, hours=hours_ago))
    return w, ev, award


def _loser(w, award):
    return next(i for i, o in enumerate(w.orgs) if o.id != award.organization_id)


def _count(session, model):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_a_bidder_files_a_challenge_with_evidence_and_the_officer_answers(app, session):
    w, _ev, award = _awarded(session)
    i = _loser(w, award)
    path = f"/tenders/{w.tender.id}/challenges/new"
    client, token = world_mod.client_as(app, w.bidder_users[i])
    page = client.get(path).get_data(as_text=True)
    assert "24:00" in page  # the computed windows are shown
    from io import BytesIO

    response = client.post(path, data={"csrf_token": token, "subject": "result", "text": "价格分计算有误",
                                       "files": (BytesIO(files.pdf()), "证明.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    challenge = session.scalar(select(Challenge))
    assert challenge.organization_id == w.orgs[i].id and len(challenge.files) == 1
    assert client.get(f"/challenges/{challenge.id}/files/{challenge.files[0].id}").status_code == 200
    # The officer's list of challenges to answer shows it with its due date.
    listing = _flashes(app, w.officer, "/manage/challenges")
    assert f"/manage/challenges/{challenge.id}" in listing and w.orgs[i].name in listing
    # A reply without a verdict is refused, nothing stored.
    _post(app, w.officer, f"/manage/challenges/{challenge.id}", action="reply", text="答复")
    session.expire_all()
    assert session.get(Challenge, challenge.id).status == ChallengeStatus.PENDING
    _post(app, w.officer, f"/manage/challenges/{challenge.id}", action="reply", verdict="rejected",
          text="价格分按评审办法计算")
    page = client.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert "价格分按评审办法计算" in page and "质疑不成立" in page
    # Answered: no longer to answer.
    assert "没有待答复的质疑" in _flashes(app, w.officer, "/manage/challenges")
    # An unknown action is a bad request.
    assert _post(app, w.officer, f"/manage/challenges/{challenge.id}", action="bogus").status_code == 400


def test_bad_challenges_are_refused_with_a_message_and_nothing_stored(app, session):
    w, _ev, award = _awarded(session)
    i = _loser(w, award)
    path = f"/tenders/{w.tender.id}/challenges/new"
    client, token = world_mod.client_as(app, w.bidder_users[i])
    html = client.post(path, data={"csrf_token": token, "subject": "result", "text": "  "}).get_data(as_text=True)
    assert "请写明质疑的事项和理由" in html
    html = client.post(path, data={"csrf_token": token, "subject": "nonsense", "text": "x"}).get_data(as_text=True)
    assert "请选择质疑事项" in html
    from io import BytesIO

    html = client.post(path, data={"csrf_token": token, "subject": "result", "text": "x",
                                   "files": (BytesIO(b"MZ\x90\x00 not a pdf"), "a.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "Windows" in html
    assert _count(session, Challenge) == 0
    # An officer (no organization) cannot file.
    assert world_mod.client_as(app, w.officer)[0].get(path).status_code == 404


def _upheld(app, session):
    w, ev, award = _awarded(session)
    i = _loser(w, award)
    _post(app, w.bidder_users[i], f"/tenders/{w.tender.id}/challenges/new", subject="result", text="评分不公")
    challenge = session.scalar(select(Challenge))
    _post(app, w.officer, f"/manage/challenges/{challenge.id}", action="reply", verdict="upheld", text="质疑成立")
    return w, ev, award, challenge


def test_an_upheld_challenge_reopens_the_evaluation(app, session):
    w, ev, award, challenge = _upheld(app, session)
    _post(app, w.officer, f"/manage/challenges/{challenge.id}", action="reopen")
    session.expire_all()
    assert session.get(Award, award.id).annulled_at is not None
    old = session.get(Evaluation, ev.id)
    assert old.state == EvaluationState.REOPENED and not old.current
    fresh = queries.current_for_tender(session, w.tender.id)
    assert fresh.id != ev.id and fresh.state == EvaluationState.SETUP
    assert session.get(Tender, w.tender.id).status == TenderStatus.EVALUATING
    assert session.get(Challenge, challenge.id).remedy == "reopened"
    # The old result notice is gone; no contract can follow the annulled award; no second remedy.
    assert app.test_client().get(f"/tenders/{w.tender.id}/result").status_code == 404
    assert world_mod.client_as(app, w.officer)[0].get(f"/manage/tenders/{w.tender.id}/contract").status_code == 404
    _post(app, w.officer, f"/manage/challenges/{challenge.id}", action="cancel", reason="x")
    session.expire_all()
    assert session.get(Tender, w.tender.id).status == TenderStatus.EVALUATING


def test_an_upheld_challenge_can_cancel_the_tender(app, session):
    w, _ev, award, challenge = _upheld(app, session)
    refused = _post(app, w.officer, f"/manage/challenges/{challenge.id}", action="cancel", reason="")
    session.expire_all()
    assert session.get(Tender, w.tender.id).status == TenderStatus.AWARDED  # a reason is required
    # Shown again with the message on the reason field.
    assert refused.status_code == 200
    assert "请填写终止的理由" in _tag_text(refused.get_data(as_text=True), "reason-error")
    _post(app, w.officer, f"/manage/challenges/{challenge.id}", action="cancel", reason="采购需求表述有误")
    session.expire_all()
    tender = session.get(Tender, w.tender.id)
    assert tender.status == TenderStatus.CANCELLED and tender.cancel_reason == "采购需求表述有误"
    assert session.get(Award, award.id).annulled_at is not None


def test_a_rejected_challenge_cannot_reopen(app, session):
    w, ev, award = _awarded(session)
    i = _loser(w, award)
    _post(app, w.bidder_users[i], f"/tenders/{w.tender.id}/challenges/new", subject="result", text="评分不公")
    challenge = session.scalar(select(Challenge))
    _post(app, w.officer, f"/manage/challenges/{challenge.id}", action="reply", verdict="rejected", text="不成立")
    _post(app, w.officer, f"/manage/challenges/{challenge.id}", action="reopen")
    session.expire_all()
    assert session.get(Award, award.id).annulled_at is None
    assert session.get(Evaluation, ev.id).state == EvaluationState.AWARDED


def _contract_form(award, **overrides):
    today = clocks.local_date(utcnow(), "Asia/Shanghai")
    data = dict(number="HT-1", amount=str(award.amount), signed_on=today.isoformat(), starts_on=today.isoformat(),
                ends_on=(today + timedelta(days=200)).isoformat())
    data.update(overrides)
    return data


def test_contract_page_refuses_bad_input_then_records_and_publishes(app, session):
    from io import BytesIO

    w, _ev, award = _awarded(session, days_ago=10)
    path = f"/manage/tenders/{w.tender.id}/contract"
    client, token = world_mod.client_as(app, w.officer)
    assert client.get(path).status_code == 200
    # Term over 12 months: refused with the limit, nothing stored.
    today = clocks.local_date(utcnow(), "Asia/Shanghai")
    bad = _contract_form(award, ends_on=(today + timedelta(days=400)).isoformat())
    html = client.post(path, data={"csrf_token": token, **bad, "file": (BytesIO(files.pdf()), "合同.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "12 个月" in html and _count(session, Contract) == 0
    html = client.post(path, data={"csrf_token": token, **_contract_form(award, signed_on="not-a-date"),
                                   "file": (BytesIO(files.pdf()), "合同.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "请填写签订日期" in html and _count(session, Contract) == 0
    response = client.post(path, data={"csrf_token": token, **_contract_form(award),
                                       "file": (BytesIO(files.pdf()), "合同.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and _count(session, Contract) == 1
    assert session.get(Tender, w.tender.id).status == TenderStatus.CONTRACTED
    assert "HT-1" in app.test_client().get(f"/tenders/{w.tender.id}/contract").get_data(as_text=True)
    # The performance evaluation: the maxima must sum to 100; then it is published.
    perf = f"/manage/tenders/{w.tender.id}/performance"
    rows = {"name-0": "产出", "max-0": "40", "score-0": "30", "kind-0": "output",
            "name-2": "效益", "max-2": "30", "score-2": "20", "kind-2": "effect",
            "name-4": "满意度", "max-4": "20", "score-4": "15", "kind-4": "satisfaction"}
    html = client.post(perf, data={"csrf_token": token, **rows}).get_data(as_text=True)
    assert "之和须为 100" in html and _count(session, PerformanceEvaluation) == 0
    rows["max-4"] = "30"
    assert client.post(perf, data={"csrf_token": token, **rows}).status_code == 302
    # 30 + 20 + 15 = 65 → 合格
    profile = app.test_client().get(f"/organizations/{award.organization_id}").get_data(as_text=True)
    assert "合格（65.00）" in profile
    assert session.get(Tender, w.tender.id).status == TenderStatus.EVALUATED


def test_a_pending_challenge_blocks_the_contract_page(app, session):
    from io import BytesIO

    w, _ev, award = _awarded(session, days_ago=3)
    i = _loser(w, award)
    _post(app, w.bidder_users[i], f"/tenders/{w.tender.id}/challenges/new", subject="result", text="评分不公")
    assert _count(session, Challenge) == 1
    client, token = world_mod.client_as(app, w.officer)
    html = client.post(f"/manage/tenders/{w.tender.id}/contract",
                       data={"csrf_token": token, **_contract_form(award), "file": (BytesIO(files.pdf()), "c.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "未答复的质疑" in html and _count(session, Contract) == 0


def test_contracts_due_list_flags_the_limit(app, session):
    # Awarded 27 days ago: the 30-day limit is 3 days away (inside the 5-day warning).
    w, _ev, award = _awarded(session, days_ago=27)
    html = _flashes(app, w.officer, "/manage/contracts")
    assert w.tender.title in html and "即将到期" in html
    # Another county's officer sees nothing of it; a bidder may not see the list.
    from tests import factories

    assert w.tender.title not in _flashes(app, factories.officer("371302"), "/manage/contracts")
    assert world_mod.client_as(app, w.bidder_users[0])[0].get("/manage/contracts").status_code == 403
