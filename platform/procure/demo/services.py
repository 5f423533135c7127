"""Demo data: real Shandong divisions, 沂南县's catalogs, demo accounts."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from procure.accounts import queries as account_queries
from procure.accounts import services as account_services
from procure.accounts.models import Role
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
    return report
