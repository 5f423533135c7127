"""Demo data: real Shandong divisions, 沂南县's catalogs, demo accounts."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from procure.accounts import queries as account_queries
from procure.accounts import services as account_services
from procure.accounts.models import Role
from procure.demo.organizations import load_demo_organizations
from procure.geo import queries as geo_queries
from procure.geo import services as geo_services

DATA = Path(__file__).resolve().parent / "data"
DEMO_COUNTY = "371321"
DEMO_PASSWORD = "procure-demo-2026"
DEMO_ACCOUNTS = [
    ("admin@procure.example.com", "平台管理员", Role.PLATFORM_ADMIN, None),
    ("officer@yinan.example.com", "沂南县采购办", Role.COUNTY_OFFICER, DEMO_COUNTY),
]


def load_demo(session: Session) -> list[str]:
    report = []
    result = geo_services.import_divisions(session, (DATA / "shandong-divisions.csv").read_text(encoding="utf-8"))
    report.append(f"divisions: {result.added} added, {result.updated} updated")
    for email, name, role, county_code in DEMO_ACCOUNTS:
        if account_queries.by_email(session, email) is None:
            user = account_services.create_user(
                session, email=email, password=DEMO_PASSWORD, name=name, confirmed=True
            )
            division = geo_queries.county_by_code(session, county_code) if county_code else None
            account_services.grant_role(session, user, role, division)
        report.append(f"demo account {email} / {DEMO_PASSWORD} ({role.value})")
    report.extend(load_demo_catalogs(session))
    report.extend(load_demo_organizations(session))
    from procure.demo.tenders import load_demo_tenders

    report.extend(load_demo_tenders(session))
    from procure.demo.evaluation import load_demo_evaluations

    report.extend(load_demo_evaluations(session, password=DEMO_PASSWORD))
    return report


DEMO_OFFICER = "officer@yinan.example.com"
DEMO_CATALOG_FILE = DATA / "yinan-2026-catalog.xlsx"


def load_demo_catalogs(session: Session) -> list[str]:
    """沂南县's 2026 catalog imported from the sample table and published, and a 2027
    draft copied from it with a few changes (so the "what changed" page shows
    something). Only when the county has no catalog at all: never touches an officer's
    own work."""
    from procure.catalog import queries as catalog_queries
    from procure.catalog import services as catalog_services
    from procure.catalog import xlsx

    county = geo_queries.county_by_code(session, DEMO_COUNTY)
    if catalog_queries.catalogs_of_county(session, county.id):
        return [f"catalogs of {county.name}: already present, left as they are"]
    officer = account_queries.by_email(session, DEMO_OFFICER)

    published = catalog_services.create_draft(session, county=county, year=2026, user=officer)
    result = xlsx.import_catalog(session, published, DEMO_CATALOG_FILE.read_bytes())
    catalog_services.publish(session, published, officer)
    report = [
        f"catalog {county.name} 2026 v{published.version}: imported {result.items} items, "
        f"{result.categories} categories from {DEMO_CATALOG_FILE.name}, published"
    ]

    draft = catalog_services.create_draft(session, county=county, year=2027, user=officer, copy_from=published)
    session.expire(draft, ["items", "categories"])
    items = {item.name: item for item in draft.items}
    categories = {category.name: category for category in draft.categories}

    elderly = categories["养老服务"]
    meals = catalog_services.add_category(session, draft, name="老年助餐服务", parent=elderly)
    catalog_services.add_item(
        session,
        meals,
        catalog_services.ItemData(
            name="老年助餐服务",
            service_content="依托农村幸福院和长者食堂，为高龄、独居、失能老年人提供集中就餐和送餐上门服务",
            purchasing_department="乡镇民政办",
            undertaker_types=["social_organization", "enterprise", "village_organization"],
            notes="按实际就餐人次结算",
            reference_budget=Decimal("200000"),
        ),
    )
    catalog_services.delete_item(session, items["机关食堂运营"])
    film = items["农村公益电影放映"]
    catalog_services.update_item(
        session,
        film,
        _item_data(
            film,
            service_content="按每村每月一场标准放映公益电影，并开展观影满意度调查",
            undertaker_types=sorted({*film.undertaker_types, "village_organization"}),
        ),
    )
    home_care = items["居家养老上门服务"]
    catalog_services.update_item(
        session,
        home_care,
        _item_data(home_care, mass_org_first=True, reference_budget=Decimal("350000")),
    )
    report.append(
        f"catalog {county.name} 2027 v{draft.version}: draft copied from 2026 with changes "
        "(added 老年助餐服务, removed 机关食堂运营, changed 农村公益电影放映 and 居家养老上门服务)"
    )
    return report


def _item_data(item, **changes):
    from procure.catalog.services import ItemData

    data = ItemData(
        name=item.name,
        service_content=item.service_content,
        purchasing_department=item.purchasing_department,
        undertaker_types=list(item.undertaker_types),
        undertaker_notes=dict(item.undertaker_notes),
        mass_org_first=item.mass_org_first,
        notes=item.notes,
        reference_budget=item.reference_budget,
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data
