"""Chinese substring search uses an index where the database has one (migration 0011)."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from procure.catalog import queries, search
from procure.catalog import services as catalog_services
from procure.catalog.models import Item
from procure.extensions import db
from tests import factories


def found(catalog, q: str) -> list[str]:
    return [item.name for item in queries.search_items(db.session, catalog, queries.ItemFilter(q=q))]


def test_the_database_has_its_search_index(session):
    expected = {"postgresql": "pg_trgm", "sqlite": "fts5"}[db.engine.dialect.name]
    assert search.index_in_use(session) == expected


def test_long_and_short_chinese_terms_find_the_same_items(session):
    catalog = factories.catalog_with_items("371321", 2026)
    assert found(catalog, "失能、半失能老人") == ["居家养老上门服务"]  # indexed (3+ characters)
    assert found(catalog, "老人") == ["居家养老上门服务"]  # 2 characters: LIKE on the catalog's rows
    assert found(catalog, "合法性审查") == ["乡镇政府法律顾问服务"]
    assert found(catalog, "幸福院日常运营") == ["农村幸福院运营管理"]
    assert found(catalog, "不存在的服务") == []
    assert found(catalog, '"引号%_\\') == []  # quotes and wildcards are text, not syntax


def test_the_index_follows_edits_and_deletions(session):
    catalog = factories.catalog_with_items("371321", 2026, publish=False)
    item = session.scalar(select(Item).where(Item.catalog_id == catalog.id, Item.name == "居家养老上门服务"))
    data = catalog_services.ItemData(name="长者助浴服务", service_content="为高龄老人提供上门助浴",
                                     purchasing_department="乡镇民政办", undertaker_types=["enterprise"])
    catalog_services.update_item(session, item, data)
    session.commit()
    assert found(catalog, "长者助浴") == ["长者助浴服务"]
    assert found(catalog, "失能、半失能老人") == []
    catalog_services.delete_item(session, item)
    session.commit()
    assert found(catalog, "长者助浴") == []


def test_postgresql_plans_the_trigram_index_for_a_substring(session):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    factories.catalog_with_items("371321", 2026)
    session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(session.scalars(text(
        f"EXPLAIN SELECT id FROM catalog_items WHERE {search.SEARCH_TEXT_SQL} LIKE '%失能老人%'"
    )))
    assert search.PG_INDEX in plan, plan
