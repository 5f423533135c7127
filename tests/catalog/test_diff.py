"""Version comparison of catalogs and the choice of the version to compare against."""
from __future__ import annotations

from decimal import Decimal

from procure.catalog import diff, queries, services, xlsx
from procure.catalog.services import ItemData
from tests import factories
from tests.conftest import SAMPLE_XLSX


def published_sample(session, year=2026):
    catalog = services.create_draft(session, county=factories.county(), year=year, user=None)
    xlsx.import_catalog(session, catalog, SAMPLE_XLSX.read_bytes())
    services.publish(session, catalog, None)
    session.commit()
    return catalog


def item_named(catalog, name):
    return next(i for i in catalog.items if i.name == name)


def test_copy_without_changes_has_an_empty_diff(session):
    old = published_sample(session)
    new = services.create_draft(session, county=old.county, year=2027, user=None, copy_from=old)
    session.commit()
    session.expire_all()
    result = diff.compare(old, new)
    assert result.is_empty and result.unchanged == 40


def test_added_removed_and_changed_items_field_by_field(session, app):
    old = published_sample(session)
    new = services.create_draft(session, county=old.county, year=2027, user=None, copy_from=old)
    session.expire_all()
    # add an item in a new level-3 category
    elderly = next(c for c in new.categories if c.name == "养老服务")
    meals = services.add_category(session, new, name="老年助餐服务", parent=elderly)
    services.add_item(session, meals, ItemData(name="老年助餐服务", undertaker_types=["enterprise"]))
    # remove one
    services.delete_item(session, item_named(new, "机关食堂运营"))
    # change several fields
    film = item_named(new, "农村公益电影放映")
    services.update_item(session, film, ItemData(
        name=film.name,
        service_content="按每村每月一场标准放映公益电影，并开展观影满意度调查",
        purchasing_department=film.purchasing_department,
        undertaker_types=["enterprise", "social_organization", "village_organization"],
        undertaker_notes={"enterprise": "电影放映公司"},
        mass_org_first=True,
        notes=film.notes,
        reference_budget=Decimal("86000"),
    ))
    session.commit()
    session.expire_all()

    with app.test_request_context():
        result = diff.compare(old, new)
        assert [i.name for i in result.added] == ["老年助餐服务"]
        assert [i.name for i in result.removed] == ["机关食堂运营"]
        assert [c.name for c in result.added_categories] == ["老年助餐服务"]
        # 机关食堂运营 was the only item of its level-3 category, which was removed with it.
        assert [c.name for c in result.removed_categories] == ["机关食堂运营"]
        [change] = result.changed
        assert change.old.name == change.new.name == "农村公益电影放映"
        fields = {f.name: (str(f.label), f.old, f.new) for f in change.fields}
        assert set(fields) == {"service_content", "undertaker_types", "mass_org_first", "reference_budget"}
        assert fields["undertaker_types"] == (
            "承接主体类型", "社会组织、企业", "社会组织、企业（电影放映公司）、村级组织"
        )
        assert fields["mass_org_first"] == ("群团组织优先承接", "否", "是")
        assert fields["reference_budget"] == ("参考预算", "—", "86,000.00 元")
        assert result.unchanged == 38


def test_renamed_category_shows_items_as_removed_and_added(session, app):
    old = published_sample(session)
    new = services.create_draft(session, county=old.county, year=2027, user=None, copy_from=old)
    session.expire_all()
    services.rename_category(session, next(c for c in new.categories if c.name == "会议服务"), "会务服务")
    session.commit()
    session.expire_all()
    with app.test_request_context():
        result = diff.compare(old, new)
    assert [i.name for i in result.added] == [i.name for i in result.removed] == ["会务组织"]
    # The level-2 category and its level-3 child are new places; the old ones are gone.
    assert [c.name for c in result.added_categories] == ["会务服务", "会务组织"]
    assert [c.name for c in result.removed_categories] == ["会议服务", "会务组织"]


def test_code_change_is_a_field_change(session, app):
    old = published_sample(session)
    new = services.create_draft(session, county=old.county, year=2027, user=None, copy_from=old)
    session.expire_all()
    item = item_named(new, "会务组织")
    item.code = item.code[:-2] + "09"
    session.commit()
    with app.test_request_context():
        [change] = diff.compare(old, new).changed
    assert [(f.name, f.new) for f in change.fields] == [("code", item.code)]


def test_compare_with_nothing_adds_everything(session, app):
    catalog = published_sample(session)
    with app.test_request_context():
        result = diff.compare(None, catalog)
    assert len(result.added) == 40 and len(result.added_categories) == 65
    assert [i.code for i in result.added] == sorted(i.code for i in catalog.items)


def test_previous_published(session):
    county = factories.county()
    v1 = published_sample(session, 2026)
    assert queries.previous_published(session, v1) is None

    # A 2026 draft compares with the 2026 published version.
    d2 = services.create_draft(session, county=county, year=2026, user=None, copy_from=v1)
    assert queries.previous_published(session, d2) == v1
    services.publish(session, d2, None)  # v1 becomes superseded
    session.commit()
    assert queries.previous_published(session, d2) == v1
    assert queries.previous_published(session, v1) is None

    # A 2027 draft without a 2027 published version compares with the latest published.
    d3 = services.create_draft(session, county=county, year=2027, user=None, copy_from=d2)
    assert queries.previous_published(session, d3) == d2
    services.publish(session, d3, None)
    session.commit()
    assert queries.previous_published(session, d3) == d2

    # Another county's versions never count.
    other = services.create_draft(session, county=factories.county("371302"), year=2027, user=None)
    assert queries.previous_published(session, other) is None
