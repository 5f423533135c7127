"""Where each role lands after login, and the counts of what waits for an officer.

- platform admin: the admin page (officials: who reviews where, what waits);
- county officer: the review queue (the navbar shows what waits there and in the
  catalogs);
- member of an organization: its own page;
- anyone else: the home page.
"""
from __future__ import annotations

from flask import url_for
from sqlalchemy import select

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
    counts = navbar_counts(user)
    return {k: counts[k] for k in ("applications", "drafts") if k in counts}


def navbar_counts(user, extra: dict | None = None) -> dict[str, int]:
    """The badges of the navbar, in one statement, once per request (the navbar
    is drawn after the view's changes): the user's unread messages and, for a
    county officer, the applications waiting and the unpublished drafts.
    ``extra``: more counts a view needs (name -> SELECT of one number), read in
    the same statement (a view that reads nothing after them)."""
    from flask import g

    from procure.notifications import queries as notification_queries

    memo = g.get("_navbar_counts")
    if memo is not None and memo[0] == user.id and all(name in memo[1] for name in extra or ()):
        return memo[1]
    columns = {**(extra or {}), "unread": notification_queries.unread_count_statement(user.id)}
    county_ids = policy.officer_county_ids(user)
    if county_ids:
        columns["applications"] = org_queries.waiting_count_statement(county_ids)
        columns["drafts"] = catalog_queries.draft_count_statement(county_ids)
    row = db.session.execute(select(*[stmt.scalar_subquery().label(name) for name, stmt in columns.items()])).one()
    counts = {name: value or 0 for name, value in zip(columns, row)}
    g._navbar_counts = (user.id, counts)
    return counts
