"""Pages of a tender taken to the end, built ONCE for the module (nothing here
changes data): the committee scored three bids, the officer awarded the top
one ten days ago, the last-ranked bidder challenged the result and got a
reply, the contract was recorded and the performance evaluation published.
Each test reads pages as the public, the bidders, an outsider or the officer."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from procure.extensions import db
from procure.timeutil import utcnow
from tests.evaluation import world as world_mod


@pytest.fixture(scope="module")
def done(app):
    from procure.challenges import services as challenges
    from procure.contracts import services as contracts
    from procure.evaluation import clocks
    from procure.evaluation import services as evaluation_services
    from tests.conftest import _truncate
    from tests.organizations import files

    with app.app_context():
        with pytest.MonkeyPatch.context() as mp:
            world_mod.fast_passwords(mp)
            session = db.session
            w = world_mod.build()
            award_at = utcnow() - timedelta(days=10)
            ev, award = world_mod.awarded(session, w, now=award_at)
            results = evaluation_services.results(session, ev)
            loser = next(i for i, b in enumerate(w.bids) if b.bid_id == results[-1].bid_id)
            challenge = challenges.file(
                session, w.facts, organization_id=w.orgs[loser].id,
                bidder_org_ids={b.organization_id for b in w.bids}, user=w.bidder_users[loser], subject="result",
                text="<b>评分不公</b>", award=award, add_workdays=clocks.platform_calendar(session),
                settings=challenges.ChallengeSettings(), upload_root=app.instance_path + "/uploads/challenges",
                max_bytes=10**6, now=award_at + timedelta(hours=1),
            )
            challenges.reply(session, challenge, officer=w.officer, upheld=False, text="评分符合评审办法",
                             now=award_at + timedelta(days=1))
            today = clocks.local_date(utcnow(), "Asia/Shanghai")
            contract = contracts.record(
                session, award, contracts.ContractData("HT-2026-001", award.amount, today, today,
                                                       today + timedelta(days=300), False, "合同.pdf", files.pdf()),
                county_id=w.facts.county_id, officer=w.officer, settings=contracts.ContractSettings(),
                upload_root=app.instance_path + "/uploads/contracts", max_bytes=10**6,
            )
            contracts.record_performance(session, contract, [
                contracts.IndicatorData("output", "上门服务次数", "40", "38"),
                contracts.IndicatorData("effect", "老人生活改善", "30", "27"),
                contracts.IndicatorData("satisfaction", "满意度调查", "30", "28.5"),
            ], summary="服务到位", officer=w.officer, upload_root=app.instance_path + "/uploads/contracts",
                max_bytes=10**6)
            session.commit()
            yield dict(w=w, ev=ev.id, award=award, results=results, loser=loser, challenge=challenge.id,
                       winner_org=award.organization_id)
        db.session.rollback()
        _truncate()
        db.session.remove()


def _get(app, path, user=None):
    client = world_mod.client_as(app, user)[0] if user is not None else app.test_client()
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True)


def test_the_losing_bidder_sees_its_own_score_and_rank(app, done):
    w, loser, last = done["w"], done["loser"], done["results"][-1]
    status, html = _get(app, f"/tenders/{w.tender.id}/my-result", w.bidder_users[loser])
    assert status == 200
    assert f'data-testid="my-total">{last.total}<' in html and 'data-testid="my-rank">3<' in html
    # Its challenge is listed with its state.
    assert f"/challenges/{done['challenge']}" in html


def test_the_winner_sees_it_won_and_others_see_nothing(app, done):
    w = done["w"]
    winner = next(i for i, o in enumerate(w.orgs) if o.id == done["winner_org"])
    status, html = _get(app, f"/tenders/{w.tender.id}/my-result", w.bidder_users[winner])
    assert status == 200 and 'data-testid="my-rank">1<' in html
    # No organization (officer, evaluator, anonymous → login) or another county's member: nothing.
    assert _get(app, f"/tenders/{w.tender.id}/my-result", w.officer)[0] == 404
    assert _get(app, f"/tenders/{w.tender.id}/my-result", w.evaluators[0])[0] == 404
    assert _get(app, f"/tenders/{w.tender.id}/my-result")[0] == 302


def test_the_challenge_is_shown_to_its_bidder_and_the_officer_only(app, done):
    w, cid = done["w"], done["challenge"]
    status, html = _get(app, f"/challenges/{cid}", w.bidder_users[done["loser"]])
    assert status == 200
    assert "&lt;b&gt;评分不公&lt;/b&gt;" in html  # escaped
    assert 'data-testid="challenge-reply">评分符合评审办法<' in html
    assert _get(app, f"/manage/challenges/{cid}", w.officer)[0] == 200
    other = next(i for i in range(3) if i != done["loser"])
    assert _get(app, f"/challenges/{cid}", w.bidder_users[other])[0] == 404
    assert _get(app, f"/manage/challenges/{cid}", w.bidder_users[done["loser"]])[0] == 404


def test_contract_notice_performance_and_the_winners_profile_are_public(app, done):
    w = done["w"]
    status, html = _get(app, f"/tenders/{w.tender.id}/contract")
    assert status == 200 and "HT-2026-001" in html
    assert _get(app, f"/tenders/{w.tender.id}/contract/file")[0] == 200
    status, html = _get(app, f"/tenders/{w.tender.id}/performance")
    # 38 + 27 + 28.5 = 93.50 → 优秀 (≥ 90)
    assert status == 200 and 'data-testid="performance-grade">优秀<' in html and "93.50" in html
    status, html = _get(app, f"/organizations/{done['winner_org']}")
    assert status == 200 and "优秀（93.50）" in html and w.tender.title in html
    # A losing bidder's profile shows no contract.
    loser_org = w.orgs[done["loser"]].id
    assert "优秀" not in _get(app, f"/organizations/{loser_org}")[1]


def test_the_tender_went_through_every_status(app, done):
    from procure.tenders.models import Tender

    with app.app_context():
        assert db.session.get(Tender, done["w"].tender.id).status.value == "evaluated"
    # The tender's public notice links the result, contract and performance notices.
    tid = done["w"].tender.id
    status, html = _get(app, f"/tenders/{tid}")
    assert status == 200 and 'data-testid="award-links"' in html
    for path in (f"/tenders/{tid}/result", f"/tenders/{tid}/contract", f"/tenders/{tid}/performance"):
        assert f'href="{path}"' in html


def test_result_notice_links_the_contract_notice(app, done):
    w = done["w"]
    status, html = _get(app, f"/tenders/{w.tender.id}/result")
    assert status == 200 and f"/tenders/{w.tender.id}/contract" in html
    assert str(done["award"].amount) in html and D(done["award"].amount) > 0
