"""Where each role lands after login, and the counts of what waits for an officer.

- platform admin: the admin page (officials: who reviews where, what waits);
- county officer: the review queue (the navbar shows what waits there and in the
  catalogs);
- member of an organization: its own page;
- anyone else: the home page.
"""
from __future__ import annotations

from flask import url_for

from procure import policy
from procure.catalog import queries as catalog_queries
from procure.extensions import db
from procure.organizations import queries as org_queries


def landing_url(user) -> str:
    if policy.is_admin(user):
        return url_for("accounts.officials")
    if policy.is_officer(user):
        return url_for("organizations.queue")
    if policy.org_membership(user) is not None:
        return url_for("organizations.mine")
    return url_for("site.home")


def officer_work(user) -> dict[str, int]:
    """What waits for a county officer: applications to review, unpublished drafts."""
    county_ids = policy.officer_county_ids(user)
    if not county_ids:
        return {}
    return {
        "applications": org_queries.waiting_count(db.session, county_ids),
        "drafts": catalog_queries.draft_count(db.session, county_ids),
    }
