"""The evaluation pages through the test client: a committee of two scores
three bids, the chair reports, the officer awards, the public sees the result
notice; an evaluator sees only the evaluations they are assigned to."""
from __future__ import annotations

import re

import pytest

from procure.evaluation import queries
from procure.evaluation.models import EvaluationState
from tests import factories
from tests.conftest import login
from tests.evaluation import world as world_mod


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    world_mod.fast_passwords(monkeypatch)


def _csrf(client, path):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _post(client, path, **data):
    data["csrf_token"] = _csrf(client, path)
    return client.post(path, data=data)


def test_committee_scores_chair_reports_officer_awards(app, session):
    w = world_mod.build()
    tid = w.tender.id
    officer, (e1, e2) = w.officer, w.evaluators[:2]
    manage = f"/manage/tenders/{tid}/evaluation"
    oc = app.test_client()
    login(oc, officer.email, factories.PASSWORD)
    assert _post(oc, manage, action="start").status_code == 302
    _post(oc, manage, action="add_member", email=e1.email, chair="yes")
    _post(oc, manage, action="add_member", email=e2.email)
    ev = queries.current_for_tender(session, tid)
    sheet = f"/evaluations/{ev.id}"

    c1, c2 = app.test_client(), app.test_client()
    login(c1, e1.email, factories.PASSWORD)
    login(c2, e2.email, factories.PASSWORD)
    # Before declaring, no bid is shown.
    assert w.bids[0].organization_name not in c1.get(sheet).get_data(as_text=True)
    for c in (c1, c2):
        _post(c, sheet, action="declare", conflict="no")
    _post(oc, manage, action="begin_review")
    # The chair records the review.
    _post(c1, sheet, action="qualify", **{f"q-{b.bid_id}": "pass" for b in w.bids})
    _post(c1, sheet, action="finish_review")
    session.expire_all()
    assert queries.get(session, ev.id).state == EvaluationState.SCORING

    # Member 2 cannot see the comparison before submitting its own sheet.
    assert c2.get(f"{sheet}/comparison").status_code == 404
    marks = {c1: ("30", "20"), c2: ("32", "22")}
    for c, (plan, team) in marks.items():
        data = {f"s-{b.bid_id}-c0": plan for b in w.bids} | {f"s-{b.bid_id}-c1": team for b in w.bids}
        _post(c, sheet, action="submit", **data)
    # After c1's submission, c1 sees the comparison (with c2's marks, now also submitted).
    page = c1.get(f"{sheet}/comparison").get_data(as_text=True)
    assert "32" in page
    _post(c1, sheet, action="report", text="一致")
    session.expire_all()
    assert queries.get(session, ev.id).state == EvaluationState.REPORTED

    # Same non-price marks for everyone: the lowest price (80,000, bid 0) ranks first.
    results = queries.results(session, ev.id)
    assert results[0].bid_id == w.b0
    assert _post(oc, manage, action="award", bid_id=str(w.b0)).status_code == 302
    public = app.test_client().get(f"/tenders/{tid}/result")
    html = public.get_data(as_text=True)
    assert public.status_code == 200
    assert "80000.00" in html and w.bids[0].organization_name in html
    # Notice 'now' (tests run on the real clock): the publicity end is shown as "<day> 24:00".
    assert re.search(r"\d{4}-\d{2}-\d{2} 24:00", html)


def test_an_evaluator_sees_only_assigned_evaluations(app, session):
    w = world_mod.build()
    manage = f"/manage/tenders/{w.tender.id}/evaluation"
    oc = app.test_client()
    login(oc, w.officer.email, factories.PASSWORD)
    _post(oc, manage, action="start")
    _post(oc, manage, action="add_member", email=w.evaluators[0].email, chair="yes")
    ev = queries.current_for_tender(session, w.tender.id)
    outsider = app.test_client()
    login(outsider, w.evaluators[2].email, factories.PASSWORD)
    assert outsider.get(f"/evaluations/{ev.id}").status_code == 404
    assert outsider.get(f"/evaluations/{ev.id}/comparison").status_code == 404
    assert w.tender.title not in outsider.get("/evaluations").get_data(as_text=True)
    insider = app.test_client()
    login(insider, w.evaluators[0].email, factories.PASSWORD)
    assert w.tender.title in insider.get("/evaluations").get_data(as_text=True)
    # Officers of another county: 404 on the management page.
    other = app.test_client()
    login(other, factories.officer("371302").email, factories.PASSWORD)
    assert other.get(manage).status_code == 404
    # No result notice before the award.
    assert app.test_client().get(f"/tenders/{w.tender.id}/result").status_code == 404
