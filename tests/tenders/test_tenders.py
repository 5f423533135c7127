"""Tenders: the catalog gate, every publishing rule, numbering, amendments,
cancellation, questions and the legal clock of their answers."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from procure.errors import DomainError
from procure.extensions import db
from procure.notifications.models import Notification
from procure.tenders import services as tenders
from procure.tenders.models import Tender, TenderStatus
from procure.workdays import services as wd
from tests import factories
from tests.tenders import builders as b

# Monday 2026-11-30, 10:00 in Beijing.
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)


def test_tender_only_from_the_current_published_catalog(session):
    draft_catalog = factories.catalog_with_items(year=2027, publish=False)
    with pytest.raises(DomainError) as info:
        tenders.create_draft(session, draft_catalog.items[0], b.data(NOW), actor=None, rules=b.rules())
    assert info.value.field == "item"
    old = factories.catalog_with_items()
    factories.catalog_with_items()  # a new version supersedes it
    with pytest.raises(DomainError):
        tenders.create_draft(session, old.items[0], b.data(NOW), actor=None, rules=b.rules())


def test_undertaker_types_default_to_the_item_and_are_never_wider(session):
    tender = b.draft(NOW)
    assert tender.undertaker_types == sorted(tender.item.undertaker_types)
    with pytest.raises(DomainError) as info:
        tenders.update_draft(session, tender, b.data(NOW, undertaker_types=["individual"]), rules=b.rules())
    assert info.value.field == "undertaker_types"


def test_min_bids_default_from_the_method(session):
    assert b.draft(NOW, method="single_source", evaluation_method="negotiated", criteria=[],
                   price_weight=None).min_bids == 1
    assert b.draft(NOW).min_bids == 3


def test_a_valid_tender_breaks_no_rule(session):
    tender = b.draft(NOW)
    assert tenders.check_publishable(session, tender, NOW, b.rules()) == []


RULES = {
    "budget": dict(budget=None),
    "max_price": dict(max_price=Decimal("250000")),  # above the budget
    "bid_deadline": dict(bid_deadline=NOW + timedelta(days=19)),  # open tender needs 20 days
    "enquiry_deadline": dict(enquiry_deadline=NOW + timedelta(days=22)),  # after the bid deadline
    "criteria": dict(criteria=[{"name": "服务方案", "weight": 50}, {"name": "团队", "weight": 20}]),  # sum 90
    "price_weight": dict(price_weight=35, criteria=[{"name": "服务方案", "weight": 65}]),
    "evaluation_method": dict(method="competitive_consultation", evaluation_method="lowest_price"),
    "min_bids": dict(min_bids=2),
    "service_end": dict(service_end=date(2026, 12, 1)),
    "description": dict(description=""),
    "service_place": dict(service_place=""),
}


@pytest.mark.parametrize("field", sorted(RULES))
def test_each_publishing_rule_is_explained_on_its_field(session, field):
    tender = b.draft(NOW, **RULES[field])
    violations = tenders.check_publishable(session, tender, NOW, b.rules())
    assert field in {v.field for v in violations}
    with pytest.raises(tenders.PublishRefused):
        tenders.publish(session, tender, actor=None, now=NOW, rules=b.rules())
    session.rollback()
    assert session.get(type(tender), tender.id).status == TenderStatus.DRAFT


def test_publishing_period_in_working_days_for_request_for_quotation(session):
    # Monday 30 Nov + 3 working days = Thursday 3 Dec.
    common = dict(method="request_for_quotation", evaluation_method="lowest_price", criteria=[], price_weight=None,
                  enquiry_deadline=NOW + timedelta(days=1))
    too_early = b.draft(NOW, bid_deadline=datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc), **common)
    assert [v.field for v in tenders.check_publishable(session, too_early, NOW, b.rules())] == ["bid_deadline"]
    ok = b.draft(NOW, bid_deadline=datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc), **common)
    assert tenders.check_publishable(session, ok, NOW, b.rules()) == []


def test_mass_org_first_only_where_the_item_has_it(session):
    tender = b.draft(NOW, mass_org_first=True)
    assert not tender.item.mass_org_first
    assert "mass_org_first" in {v.field for v in tenders.check_publishable(session, tender, NOW, b.rules())}


def test_item_no_longer_current_cannot_be_published(session):
    tender = b.draft(NOW)
    factories.catalog_with_items()  # supersedes the tender's catalog
    assert "item" in {v.field for v in tenders.check_publishable(session, tender, NOW, b.rules())}


def test_public_numbers_per_county_and_year_without_gaps(session):
    numbers = [b.published(NOW).public_number for _ in range(3)]
    assert numbers == ["371321-2026-0001", "371321-2026-0002", "371321-2026-0003"]
    later = datetime(2027, 1, 4, 2, 0, tzinfo=timezone.utc)
    assert b.published(later).public_number == "371321-2027-0001"


def test_published_tender_is_due_at_its_deadline(session):
    tender = b.published(NOW)
    assert tender.status == TenderStatus.TENDERING and tender.next_due_at == tender.bid_deadline


# --- amendments and cancellation ----------------------------------------------------


def test_late_amendment_must_move_the_deadline(session):
    tender = b.published(NOW)
    late = tender.bid_deadline - timedelta(days=10)  # 15 days needed for an open tender
    with pytest.raises(DomainError) as info:
        tenders.amend(session, tender, {"description": "新说明"}, summary="补充说明", actor=None, now=late,
                      rules=b.rules())
    assert info.value.field == "bid_deadline"
    session.rollback()
    amendment = tenders.amend(session, tender, {"description": "新说明", "bid_deadline": late + timedelta(days=16)},
                              summary="补充说明并延期", actor=None, now=late, rules=b.rules())
    session.commit()
    assert amendment.number == 1 and {c["field"] for c in amendment.changes} == {"description", "bid_deadline"}
    assert tender.next_due_at == late + timedelta(days=16)


def test_early_amendment_needs_no_new_deadline(session):
    tender = b.published(NOW)
    tenders.amend(session, tender, {"service_place": "依汶镇"}, summary="服务地点更正", actor=None,
                  now=NOW + timedelta(days=1), rules=b.rules())
    assert tender.amendment_count == 1


def test_cancellation_needs_a_public_reason(session):
    tender = b.published(NOW)
    with pytest.raises(DomainError):
        tenders.cancel(session, tender, reason=" ", actor=None, now=NOW)
    tenders.cancel(session, tender, reason="预算调整", actor=None, now=NOW)
    assert tender.status == TenderStatus.CANCELLED and tender.next_due_at is None


# --- questions --------------------------------------------------------------------


def test_questions_until_the_enquiry_deadline_answer_due_in_working_days(session):
    tender = b.published(NOW)
    org, member = b.bidder()
    q = tenders.ask(session, tender, organization=org, user=member, text="是否需要提供场地？", now=NOW,
                    rules=b.rules())
    assert (q.answer_due, q.answer_due_provisional) == (date(2026, 12, 3), False)
    with pytest.raises(DomainError):
        tenders.ask(session, tender, organization=org, user=member, text="再问", now=tender.enquiry_deadline,
                    rules=b.rules())


def test_pending_organization_cannot_ask(session):
    tender = b.published(NOW)
    org = factories.organization(status="pending")
    with pytest.raises(DomainError):
        tenders.ask(session, tender, organization=org, user=factories.user(), text="?", now=NOW, rules=b.rules())


def test_answer_notifies_the_asker(session):
    tender = b.published(NOW)
    org, member = b.bidder()
    q = tenders.ask(session, tender, organization=org, user=member, text="是否需要提供场地？", now=NOW,
                    rules=b.rules())
    tenders.answer(session, q, actor=None, text="不需要。", now=NOW)
    session.commit()
    n = session.scalars(select(Notification).where(Notification.recipient_user_id == member.id)).one()
    assert "不需要" in n.body_text


def test_entering_next_year_recomputes_provisional_answer_dues_and_tells_officers(session):
    asked = datetime(2026, 12, 30, 2, 0, tzinfo=timezone.utc)  # Wednesday
    tender = b.published(NOW, bid_deadline=datetime(2027, 1, 20, 2, 0, tzinfo=timezone.utc),
                         enquiry_deadline=datetime(2027, 1, 10, 2, 0, tzinfo=timezone.utc))
    officer = factories.officer()
    org, member = b.bidder()
    q = tenders.ask(session, tender, organization=org, user=member, text="问题", now=asked, rules=b.rules())
    session.commit()
    # 3 working days, 2027-01-01 computed as New Year's Day: Thu 31, Mon 4, Tue 5.
    assert (q.answer_due, q.answer_due_provisional) == (date(2027, 1, 5), True)
    # The official arrangement adds a bridging day on Monday 4 January.
    wd.enter_year(session, 2027, holidays={date(2027, 1, d): "元旦" for d in (1, 2, 3, 4)}, workdays={})
    assert tenders.recompute_provisional_deadlines(session, now=asked, rules=b.rules()) == 1
    session.commit()
    assert (q.answer_due, q.answer_due_provisional) == (date(2027, 1, 6), False)
    told = session.scalars(select(Notification).where(Notification.recipient_user_id == officer.id,
                                                      Notification.template == "deadline_recomputed")).all()
    assert len(told) == 1 and "2027-01-06" in told[0].body_text
    # Running again changes nothing and tells nobody again.
    assert tenders.recompute_provisional_deadlines(session, now=asked, rules=b.rules()) == 0


def test_passed_provisional_dues_are_not_recomputed(session):
    asked = datetime(2026, 12, 30, 2, 0, tzinfo=timezone.utc)
    tender = b.published(NOW, bid_deadline=datetime(2027, 1, 20, 2, 0, tzinfo=timezone.utc),
                         enquiry_deadline=datetime(2027, 1, 10, 2, 0, tzinfo=timezone.utc))
    org, member = b.bidder()
    q = tenders.ask(session, tender, organization=org, user=member, text="问题", now=asked, rules=b.rules())
    wd.enter_year(session, 2027, holidays={date(2027, 1, d): "元旦" for d in (1, 2, 3, 4)}, workdays={})
    later = datetime(2027, 1, 7, 2, 0, tzinfo=timezone.utc)
    assert tenders.recompute_provisional_deadlines(session, now=later, rules=b.rules()) == 0
    assert q.answer_due == date(2027, 1, 5)


def test_concurrent_publishing_numbers_without_gaps_or_duplicates(app, session, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL (SQLite serialises writers)")
    import threading

    drafts = [b.draft(NOW).id for _ in range(12)]
    barrier = threading.Barrier(len(drafts))
    errors = []

    def publish(tender_id):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                tender = db.session.get(Tender, tender_id)
                tenders.publish(db.session, tender, actor=None, now=NOW, rules=b.rules())
                db.session.commit()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=publish, args=(i,)) for i in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    session.expire_all()
    numbers = sorted(session.scalars(select(Tender.public_number)))
    assert numbers == [f"371321-2026-{n:04d}" for n in range(1, len(drafts) + 1)]
