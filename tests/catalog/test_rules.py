"""Catalog rules tested at the layer that owns them: the services refuse every
edit of a published catalog, and the database keeps one draft and one published
version per county and year even when the services are bypassed."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from procure.catalog import services
from procure.catalog.models import Catalog, CatalogStatus, Category, Item
from procure.catalog.services import ItemData
from procure.errors import DomainError
from tests import factories


def _published(session):
    """A published catalog, one of its items, and an empty level-3 category (which
    a draft could delete; publishing prunes empty categories, so it is added after)."""
    catalog = factories.catalog_with_items("371321", 2026, publish=False)
    item = catalog.items[0]
    services.publish(session, catalog, None)
    parent = item.category.parent
    empty = Category(catalog=catalog, parent=parent, level=3, code=parent.code + "99", name="空目录")
    session.add(empty)
    session.commit()
    assert catalog.status == CatalogStatus.PUBLISHED
    return catalog, item, empty


def _contents(session, catalog):
    return (
        sorted(session.execute(select(Category.code, Category.name).where(Category.catalog_id == catalog.id)).all()),
        sorted(session.execute(select(Item.code, Item.name, Item.service_content)
                               .where(Item.catalog_id == catalog.id)).all()),
    )


@pytest.mark.parametrize("edit", ["update_item", "add_item", "delete_item", "rename_category", "delete_category"])
def test_services_refuse_to_edit_a_published_catalog(session, edit):
    catalog, item, category = _published(session)
    before = _contents(session, catalog)
    calls = {
        "update_item": lambda: services.update_item(
            session, item, ItemData(name="改名", service_content="新内容", undertaker_types=["enterprise"])
        ),
        "add_item": lambda: services.add_item(
            session, item.category, ItemData(name="新增事项", undertaker_types=["enterprise"])
        ),
        "delete_item": lambda: services.delete_item(session, item),
        "rename_category": lambda: services.rename_category(session, category, "新目录名"),
        "delete_category": lambda: services.delete_category(session, category),
    }
    with pytest.raises(DomainError):
        calls[edit]()
    session.rollback()
    assert _contents(session, catalog) == before


def _row(catalog: Catalog, status: CatalogStatus, version: int) -> Catalog:
    return Catalog(county_id=catalog.county_id, year=catalog.year, version=version, status=status, title="直接插入")


def test_the_database_refuses_a_second_draft_of_a_county_and_year(session):
    draft = factories.catalog_with_items("371321", 2026, publish=False)
    session.add(_row(draft, CatalogStatus.DRAFT, draft.version + 1))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    # Another year, or a superseded version of the same year, is fine.
    session.add(_row(draft, CatalogStatus.SUPERSEDED, draft.version + 1))
    other_year = _row(draft, CatalogStatus.DRAFT, 1)
    other_year.year = draft.year + 1
    session.add(other_year)
    session.flush()
    session.rollback()


def test_the_database_refuses_a_second_published_version_of_a_county_and_year(session):
    published = factories.catalog_with_items("371321", 2026)
    session.add(_row(published, CatalogStatus.PUBLISHED, published.version + 1))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    count = session.scalar(select(func.count()).select_from(Catalog).where(Catalog.status == CatalogStatus.PUBLISHED))
    assert count == 1


def test_publishing_a_new_version_supersedes_the_old_one_under_the_unique_index(session):
    first = factories.catalog_with_items("371321", 2026)
    second = factories.catalog_with_items("371321", 2026)  # published through the services
    session.refresh(first)
    assert (first.status, second.status) == (CatalogStatus.SUPERSEDED, CatalogStatus.PUBLISHED)


# --- no empty categories reach the public -------------------------------------------------


def test_deleting_the_last_item_of_a_level3_category_deletes_the_category(session):
    catalog = factories.catalog_with_items("371321", 2026, publish=False)
    category = catalog.items[0].category
    parent_id = category.parent_id
    items = list(category.items)
    for item in items[:-1]:
        assert services.delete_item(session, item) is None
    assert session.get(Category, category.id) is not None  # still has an item
    assert services.delete_item(session, items[-1]) is category
    session.commit()
    assert session.get(Category, category.id) is None
    assert session.get(Category, parent_id) is not None  # only the level-3 category goes


def test_publishing_prunes_empty_categories(session):
    catalog = factories.catalog_with_items("371321", 2026, publish=False)
    parent = catalog.items[0].category.parent
    services.add_category(session, catalog, name="空的三级", parent=parent)
    empty_l1 = services.add_category(session, catalog, name="空的一级")
    empty_l2 = services.add_category(session, catalog, name="空的二级", parent=empty_l1)
    services.add_category(session, catalog, name="空的三级", parent=empty_l2)
    before = session.scalar(select(func.count()).select_from(Category).where(Category.catalog_id == catalog.id))
    services.publish(session, catalog, None)
    session.commit()
    names = set(session.scalars(select(Category.name).where(Category.catalog_id == catalog.id)))
    assert not names & {"空的一级", "空的二级", "空的三级"}
    after = session.scalar(select(func.count()).select_from(Category).where(Category.catalog_id == catalog.id))
    assert after == before - 4
    counts_ok = session.execute(
        select(Category.id).where(Category.catalog_id == catalog.id, Category.level == 3,
                                  ~select(Item.id).where(Item.category_id == Category.id).exists())
    ).all()
    assert counts_ok == []
