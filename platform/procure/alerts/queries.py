"""Reads for the alert pages."""
from __future__ import annotations

from sqlalchemy.orm import Session

from procure.accounts.models import User
from procure.notifications import queries as notification_queries
from procure.notifications.models import UndeliverableAddress
from procure.organizations.models import Organization


def undeliverable_for_organization(session: Session, organization: Organization,
                                   members: list[User]) -> dict[str, UndeliverableAddress]:
    """Undeliverable marks of the organization's contact address and its members' addresses."""
    return notification_queries.undeliverable_addresses(session, [organization.email, *(m.email for m in members)])
