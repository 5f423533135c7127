"""Organization rules tested at the layer that owns them."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from procure.organizations.models import Organization
from tests import factories


def test_the_database_refuses_a_duplicate_credit_code(session):
    """The services refuse a duplicate code with a message; the unique index
    holds even when they are bypassed (or two registrations race)."""
    org = factories.organization("371321", status="pending")
    columns = {attr.key: getattr(org, attr.key) for attr in inspect(Organization).column_attrs if attr.key != "id"}
    session.add(Organization(**{**columns, "name": "另一家机构"}))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    session.add(Organization(**{**columns, "name": "另一家机构", "credit_code": factories.credit_code()}))
    session.flush()  # the same row with another code is accepted
    session.rollback()
