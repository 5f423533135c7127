from tests import factories
from tests.conftest import login


def test_admin_sees_every_account_with_its_roles(client):
    factories.admin(email="root@example.com")
    factories.officer(email="o@example.com")
    factories.township_officer(email="t@example.com")
    factories.user(email="pending@example.com", confirmed=False)
    login(client, "root@example.com", factories.PASSWORD)
    html = client.get("/account/users").get_data(as_text=True)
    for text in ("o@example.com", "县级采购人员 · 沂南县", "t@example.com", "乡镇人员 · 岸堤镇", "pending@example.com", "未确认"):
        assert text in html, text
    filtered = client.get("/account/users?q=t@ex").get_data(as_text=True)
    assert "t@example.com" in filtered and "o@example.com" not in filtered


def test_officer_may_not_list_users(client):
    factories.officer(email="o@example.com")
    login(client, "o@example.com", factories.PASSWORD)
    assert client.get("/account/users").status_code == 403
