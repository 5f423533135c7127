"""After login each role lands on its work; officers see what waits; a favicon."""
from __future__ import annotations

import pytest

from tests import factories
from tests.conftest import csrf_token


def log_in(client, email):
    token = csrf_token(client)
    return client.post("/account/login", data={"email": email, "password": factories.PASSWORD, "csrf_token": token})


@pytest.mark.parametrize(
    ("make", "landing"),
    [
        (lambda: factories.officer("371321", email="o@example.com"), "/manage/organizations"),
        (lambda: factories.admin(email="o@example.com"), "/account/officials"),
        (lambda: factories.user(email="o@example.com"), "/"),
    ],
    ids=["officer", "admin", "plain user"],
)
def test_each_role_lands_on_its_work(client, session, make, landing):
    make()
    response = log_in(client, "o@example.com")
    assert response.status_code == 302 and response.headers["Location"] == landing


def test_an_organization_member_lands_on_its_organization(client, session):
    admin = factories.user(email="o@example.com")
    factories.organization("371321", status="verified", admin_user=admin)
    assert log_in(client, "o@example.com").headers["Location"] == "/organizations/mine"


def test_next_still_wins(client, session):
    factories.officer("371321", email="o@example.com")
    token = csrf_token(client)
    response = client.post("/account/login?next=/manage/catalogs",
                           data={"email": "o@example.com", "password": factories.PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/manage/catalogs"


def test_the_officer_sees_what_waits(client, session):
    factories.officer("371321", email="o@example.com")
    factories.organization("371321", status="pending")
    factories.organization("371321", status="pending")
    factories.organization("371302", status="pending")  # another county's: not counted
    unconfirmed = factories.organization("371321", status="pending")
    unconfirmed.confirmed_at = None  # nobody is told of it yet: not counted
    session.commit()
    factories.catalog_with_items("371321", 2027, publish=False)
    log_in(client, "o@example.com")
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="work-applications">2<' in html
    assert 'data-testid="work-drafts">1<' in html


def test_a_favicon(client):
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml" and b"<svg" in response.data
