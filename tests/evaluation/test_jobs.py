"""The beat jobs of the evaluation: overdue challenge replies and contracts
near or past their limit are flagged to the county's officers, once each,
under the non-overlap lock (tests/workers/test_worker.py runs the others)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from procure.notifications.models import Notification
from procure.timeutil import utcnow
from tests.evaluation import world as world_mod


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    world_mod.fast_passwords(monkeypatch)


def test_beat_schedule_runs_both_flags():
    from procure.jobs import JOBS
    from workers.schedule import beat_schedule

    tasks = {entry["task"] for entry in beat_schedule.values()}
    assert {"workers.tasks.flag_overdue_challenges", "workers.tasks.flag_contracts_due"} <= tasks
    assert JOBS["flag_overdue_challenges"].fn and JOBS["flag_contracts_due"].fn


def _officer_notes(session, officer, prefix):
    session.expire_all()
    return list(session.scalars(select(Notification).where(Notification.recipient_user_id == officer.id,
                                                           Notification.event_key.like(f"{prefix}%"))))


def test_contract_flags_are_sent_once_each(celery_app, session):
    from workers.tasks import flag_contracts_due

    w = world_mod.build()
    _ev, award = world_mod.awarded(session, w, now=utcnow() - timedelta(days=27))
    assert flag_contracts_due.apply().get() == [f"award {award.id} (tender {w.tender.id}): contract due_soon, "
                                                "officers told"]
    assert flag_contracts_due.apply().get() == ["no contract newly due"]  # idempotent
    assert len(_officer_notes(session, w.officer, "contract.due_soon:")) == 1
    session.refresh(award)
    assert award.contract_flag == "due_soon"


def test_overdue_contract_and_challenge_are_flagged(celery_app, session):
    from procure.challenges import services as challenges
    from procure.contracts import services as contracts
    from procure.evaluation import clocks
    from workers.tasks import flag_overdue_challenges

    w = world_mod.build()
    at = utcnow() - timedelta(days=40)
    _ev, award = world_mod.awarded(session, w, now=at)
    loser = next(i for i, o in enumerate(w.orgs) if o.id != award.organization_id)
    challenges.file(session, w.facts, organization_id=w.orgs[loser].id,
                    bidder_org_ids={o.id for o in w.orgs}, user=w.bidder_users[loser], subject="result", text="x",
                    award=award, add_workdays=clocks.platform_calendar(session),
                    settings=challenges.ChallengeSettings(), upload_root="/tmp/procure-test-challenges",
                    max_bytes=10**6, now=at + timedelta(hours=2))
    session.commit()
    first = flag_overdue_challenges.apply().get()
    assert len(first) == 1 and first[0].startswith("challenge ") and "officers told" in first[0]
    assert flag_overdue_challenges.apply().get() == ["no newly overdue challenge"]
    assert len(_officer_notes(session, w.officer, "challenge.overdue:")) == 1
    # Past the 30 days: "overdue" at once (the due-soon step was never seen).
    flagged = contracts.flag_due(session, contracts.ContractSettings())
    assert [a.id for a in flagged] == [award.id] and award.contract_flag == "overdue"
    assert contracts.flag_due(session, contracts.ContractSettings()) == []
