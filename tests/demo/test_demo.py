"""The demo data of ``make run``: loaded by ``flask demo load``, idempotent."""
from __future__ import annotations

from sqlalchemy import func, select

from procure.accounts import queries as account_queries
from procure.catalog import diff, queries
from procure.catalog.models import Catalog, CatalogStatus, Item
from procure.demo import services as demo
from tests import factories
from tests.catalog.test_xlsx import snapshot


def counts(session):
    return (
        session.scalar(select(func.count()).select_from(Catalog)),
        session.scalar(select(func.count()).select_from(Item)),
    )


def test_demo_catalogs_are_loaded_once(session, app):
    report = demo.load_demo(session)
    session.commit()
    assert any("2026 v1: imported 40 items" in line for line in report)
    assert any("2027 v1: draft copied" in line for line in report)

    county = factories.county(demo.DEMO_COUNTY)
    officer = account_queries.by_email(session, demo.DEMO_OFFICER)
    published, draft = (
        queries.current_published(session, county.id, 2026),
        next(c for c in queries.catalogs_of_county(session, county.id) if c.year == 2027),
    )
    assert published.status == CatalogStatus.PUBLISHED and published.published_by == officer
    assert len(published.items) == 40
    assert draft.status == CatalogStatus.DRAFT and draft.based_on == published and len(draft.items) == 40
    assert queries.previous_published(session, draft) == published
    with app.test_request_context():
        changes = diff.compare(published, draft)
        assert [i.name for i in changes.added] == ["老年助餐服务"]
        assert [i.name for i in changes.removed] == ["机关食堂运营"]
        assert {c.new.name: [f.name for f in c.fields] for c in changes.changed} == {
            "农村公益电影放映": ["service_content", "undertaker_types"],
            "居家养老上门服务": ["mass_org_first", "reference_budget"],
        }

    before = counts(session), snapshot(published), snapshot(draft)
    again = demo.load_demo(session)
    session.commit()
    session.expire_all()
    assert any("already present" in line for line in again)
    assert (counts(session), snapshot(published), snapshot(draft)) == before
    assert sum("demo account" in line for line in again) == len(demo.DEMO_ACCOUNTS)


def test_demo_leaves_an_existing_catalog_alone(session):
    from procure.catalog import services

    services.create_draft(session, county=factories.county(demo.DEMO_COUNTY), year=2026, user=None)
    session.commit()
    assert "already present" in demo.load_demo_catalogs(session)[0]
    session.commit()
    assert counts(session) == (1, 0)


def test_demo_tenders_in_every_reachable_state(session, app):
    from procure.bids.models import Bid, OpeningRecord
    from procure.tenders.models import Tender, TenderStatus

    report = demo.load_demo(session)
    session.commit()
    tenders = session.scalars(select(Tender).order_by(Tender.id)).all()
    states = [t.status for t in tenders]
    assert states.count(TenderStatus.TENDERING) == 2
    assert {TenderStatus.OPENED, TenderStatus.FAILED, TenderStatus.CANCELLED, TenderStatus.DRAFT} <= set(states)
    open_ = [t for t in tenders if t.status == TenderStatus.TENDERING]
    assert any(t.questions and t.questions[0].answered_at for t in open_)
    assert any(t.amendments for t in open_)
    opened = next(t for t in tenders if t.status == TenderStatus.OPENED)
    assert session.scalar(select(func.count(OpeningRecord.id)).where(OpeningRecord.tender_id == opened.id)) == 3
    assert session.scalar(select(func.count(Bid.id))) >= 6
    again = demo.load_demo(session)
    session.commit()
    assert "demo tenders: already present" in "\n".join(again)
    assert session.scalar(select(func.count(Tender.id))) == len(tenders)


def test_demo_tenders_at_each_state_after_the_opening(session, app):
    from procure.challenges.models import Challenge, ChallengeStatus
    from procure.contracts.models import Grade, PerformanceEvaluation
    from procure.tenders.models import Tender, TenderStatus

    demo.load_demo(session)
    session.commit()
    states = [t.status for t in session.scalars(select(Tender))]
    assert states.count(TenderStatus.EVALUATING) == 1 and states.count(TenderStatus.CONTRACTED) == 1
    assert states.count(TenderStatus.AWARDED) == 2 and states.count(TenderStatus.EVALUATED) == 1
    pending = session.scalar(select(Challenge))
    assert pending.status == ChallengeStatus.PENDING
    grade = session.scalar(select(PerformanceEvaluation))
    assert grade.grade == Grade.EXCELLENT
    # The grade shows on the winner's public profile; the contract notice is public.
    client = app.test_client()
    assert "优秀（92.50）" in client.get(f"/organizations/{grade.organization_id}").get_data(as_text=True)
    assert client.get(f"/tenders/{grade.tender_id}/contract").status_code == 200
    again = demo.load_demo(session)
    assert any(line.startswith("demo evaluations: already present") for line in again)
