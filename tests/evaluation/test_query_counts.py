"""The evaluation pages read a fixed number of queries, whatever the number of
bids: three bids and six bids give the same counts."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from procure.extensions import db
from procure.timeutil import utcnow
from tests.evaluation import world as world_mod


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    world_mod.fast_passwords(monkeypatch)


@contextmanager
def count_queries():
    counter = {"n": 0}

    def before(*_args, **_kw):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _counts(app, session, prices):
    w = world_mod.build(prices=prices)
    ev, award = world_mod.awarded(session, w, now=utcnow() - timedelta(hours=1))
    tid = w.tender.id
    loser = next(i for i, o in enumerate(w.orgs) if o.id != award.organization_id)
    pages = [
        ("comparison (officer)", f"/evaluations/{ev.id}/comparison", w.officer),
        ("comparison (member)", f"/evaluations/{ev.id}/comparison", w.evaluators[0]),
        ("score sheet", f"/evaluations/{ev.id}", w.evaluators[1]),
        ("committee and award", f"/manage/tenders/{tid}/evaluation", w.officer),
        ("result notice", f"/tenders/{tid}/result", None),
        ("own result", f"/tenders/{tid}/my-result", w.bidder_users[loser]),
    ]
    out = {}
    for name, path, user in pages:
        client = world_mod.client_as(app, user)[0] if user is not None else app.test_client()
        client.get(path)  # warm-up (session, caches)
        with count_queries() as counter:
            response = client.get(path)
        assert response.status_code == 200, path
        out[name] = counter["n"]
    return out


def test_comparison_result_and_committee_pages_do_not_grow_with_bids(app, session):
    small = _counts(app, session, ("80000.00", "100000.00", "95000.00"))
    large = _counts(app, session, ("80000.00", "100000.00", "95000.00", "90000.00", "85000.00", "99000.00"))
    assert large == small, (small, large)
