"""Catalog services: drafts, codes, items, publication."""
from __future__ import annotations

from decimal import Decimal

import pytest

from procure.catalog import services, xlsx
from procure.catalog.models import CatalogStatus
from procure.catalog.services import ItemData
from procure.errors import DomainError
from procure.geo import queries as geo_queries
from tests import factories
from tests.catalog.test_xlsx import snapshot
from tests.conftest import SAMPLE_XLSX


def new_draft(session, year=2026, **kw):
    return services.create_draft(session, county=factories.county(), year=year, user=None, **kw)


def tree(session):
    catalog = new_draft(session)
    l1 = services.add_category(session, catalog, name="公共服务")
    l2 = services.add_category(session, catalog, name="养老服务", parent=l1)
    l3 = services.add_category(session, catalog, name="居家养老", parent=l2)
    return catalog, l1, l2, l3


def test_create_draft_rules(session):
    catalog = new_draft(session)
    assert (catalog.version, catalog.status, catalog.title) == (1, CatalogStatus.DRAFT, "沂南县2026年乡镇政府购买服务指导性目录")
    with pytest.raises(DomainError, match="已有一份草稿"):
        new_draft(session)
    with pytest.raises(DomainError, match="年度"):
        new_draft(session, year=1999)
    township = geo_queries.townships_of(session, factories.county())[0]
    with pytest.raises(DomainError, match="县级"):
        services.create_draft(session, county=township, year=2026, user=None)
    with pytest.raises(DomainError, match="已发布"):
        new_draft(session, year=2027, copy_from=catalog)  # a draft cannot be copied


def test_codes_are_hierarchical_and_fill_gaps(session):
    catalog, l1, l2, l3 = tree(session)
    assert (l1.code, l2.code, l3.code) == ("A", "A01", "A0101")
    b = services.add_category(session, catalog, name="辅助服务")
    assert b.code == "B"
    first = services.add_item(session, l3, ItemData(name="助餐", undertaker_types=["enterprise"]))
    second = services.add_item(session, l3, ItemData(name="助浴", undertaker_types=["enterprise"]))
    assert (first.code, second.code) == ("A010101", "A010102")
    services.delete_item(session, first)
    assert services.add_item(session, l3, ItemData(name="助洁", undertaker_types=["enterprise"])).code == "A010101"
    with pytest.raises(DomainError, match="三级目录下不能再建子目录"):
        services.add_category(session, catalog, name="四级", parent=l3)
    with pytest.raises(DomainError, match="同名目录"):
        services.add_category(session, catalog, name=" 养老服务 ", parent=l1)
    with pytest.raises(DomainError, match="只能挂在三级目录下"):
        services.add_item(session, l2, ItemData(name="错位", undertaker_types=["enterprise"]))
    with pytest.raises(DomainError, match="子目录或服务事项"):
        services.delete_category(session, l1)


def test_item_validation(session):
    catalog, _, _, l3 = tree(session)
    services.add_item(session, l3, ItemData(name="助餐", undertaker_types=["enterprise"]))
    cases = [
        (ItemData(name="  "), "服务事项名称"),
        (ItemData(name="无类型"), "承接主体类型"),
        (ItemData(name="未知", undertaker_types=["martians"]), "未知的承接主体类型"),
        (ItemData(name=" 助餐", undertaker_types=["enterprise"]), "同名服务事项"),
        (ItemData(name="负数", undertaker_types=["enterprise"], reference_budget=Decimal("-1")), "负数"),
        (ItemData(name="过大", undertaker_types=["enterprise"], reference_budget=Decimal("1e12")), "过大"),
        (ItemData(name="括号", undertaker_types=["enterprise"], undertaker_notes={"enterprise": "律所）；个人"}),
         "括号"),
    ]
    for data, message in cases:
        with pytest.raises(DomainError, match=message):
            services.add_item(session, l3, data)
    item = services.add_item(session, l3, ItemData(
        name="  上门\t助浴 ",
        service_content="第一行\r\n第二行\r\n",
        undertaker_types=["social_organization", "enterprise", "enterprise"],
        undertaker_notes={"enterprise": " 家政  公司 ", "individual": "不选的类型"},
        notes="  备注\r\n",
    ))
    assert item.name == "上门 助浴"
    assert item.service_content == "第一行\n第二行" and item.notes == "备注"
    assert item.undertaker_types == ["enterprise", "social_organization"]
    assert item.undertaker_notes == {"enterprise": "家政 公司"}


def test_copy_publish_and_supersede(session):
    officer = factories.officer()
    first = new_draft(session)
    with pytest.raises(DomainError, match="没有任何服务事项"):
        services.publish(session, first, officer)
    xlsx.import_catalog(session, first, SAMPLE_XLSX.read_bytes())
    assert services.publish(session, first, officer) is None
    assert first.status == CatalogStatus.PUBLISHED and first.published_by == officer and first.published_at
    with pytest.raises(DomainError, match="只有草稿"):
        services.add_category(session, first, name="新增")
    session.commit()

    second = new_draft(session, copy_from=first)
    session.commit()
    session.expire_all()
    assert second.version == 2 and second.based_on == first
    assert snapshot(second) == snapshot(first)
    services.delete_item(session, second.items[0])
    assert services.publish(session, second, officer) == first
    session.commit()
    session.expire_all()
    assert first.status == CatalogStatus.SUPERSEDED and first.superseded_at is not None
    assert second.status == CatalogStatus.PUBLISHED
    assert len(first.items) == 40 and len(second.items) == 39  # the copy is independent


def test_clear_contents_and_delete_draft(session):
    catalog = new_draft(session)
    xlsx.import_catalog(session, catalog, SAMPLE_XLSX.read_bytes())
    session.commit()
    services.clear_contents(session, catalog)
    session.commit()
    session.expire_all()
    assert catalog.items == [] and catalog.categories == []
    xlsx.import_catalog(session, catalog, SAMPLE_XLSX.read_bytes())
    services.delete_draft(session, catalog)
    session.commit()
    assert services.latest_published(session, factories.county().id) is None
    assert new_draft(session).version == 1  # the deleted draft's number is free again
