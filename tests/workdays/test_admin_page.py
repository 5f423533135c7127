"""The admin's calendar page: form and CSV entry, bad input, the banner."""
import io
from datetime import date

from procure.workdays import services as wd
from procure.workdays.models import CalendarYear
from tests import factories
from tests.conftest import csrf_token, login

PATH = "/admin/workdays"


def _admin_client(client):
    admin = factories.admin()
    login(client, admin.email, factories.PASSWORD)
    return admin


def test_banner_asks_admins_for_next_year(client, session, monkeypatch):
    from procure.workdays import views

    monkeypatch.setattr(views, "utcnow", lambda: __import__("datetime").datetime(2026, 11, 28, 2, 0,
                                                                                  tzinfo=__import__("datetime").timezone.utc))
    _admin_client(client)
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="workdays-banner"' in html and "2027" in html


def test_banner_not_shown_to_officers(client, session):
    officer = factories.officer()
    login(client, officer.email, factories.PASSWORD)
    assert 'data-testid="workdays-banner"' not in client.get("/").get_data(as_text=True)


def test_admin_enters_a_year_by_form(client, session):
    _admin_client(client)
    token = csrf_token(client, PATH)
    response = client.post(PATH, data={
        "csrf_token": token, "year": "2027",
        "holidays": "2027-01-01 元旦\n2027-02-05 春节\n2027-02-06\n", "workdays": "2027-02-20\n",
    })
    assert response.status_code == 302
    session.expire_all()
    assert session.get(CalendarYear, 2027).entered_by.endswith("@example.com")
    assert wd.is_working_day(session, date(2027, 2, 20)) == wd.Answer(True, False)
    assert wd.is_working_day(session, date(2027, 2, 5)) == wd.Answer(False, False)


def test_admin_enters_a_year_by_csv(client, session):
    _admin_client(client)
    token = csrf_token(client, PATH)
    data = "日期,类型,名称\n2027-01-01,休,元旦\n2027-02-20,班,\n".encode()
    response = client.post(PATH, data={"csrf_token": token, "year": "2027",
                                       "csv_file": (io.BytesIO(data), "2027.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert wd.is_working_day(session, date(2027, 2, 20)).value is True


def test_bad_dates_get_a_message_and_change_nothing(client, session):
    _admin_client(client)
    token = csrf_token(client, PATH)
    response = client.post(PATH, data={"csrf_token": token, "year": "2027", "holidays": "2027-02-30\n<b>x</b>"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "2027-02-30" in html and "<b>x</b>" not in html
    assert session.get(CalendarYear, 2027) is None


def test_officer_cannot_enter_a_year(client, session):
    officer = factories.officer()
    login(client, officer.email, factories.PASSWORD)
    assert client.get(PATH).status_code == 403
