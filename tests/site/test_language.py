"""Language switch: POST /language/<code>, kept in the session (and on the user)."""
from procure.accounts import queries as account_queries
from tests import factories
from tests.conftest import csrf_token, login


def html_lang(client, path="/") -> str:
    html = client.get(path).get_data(as_text=True)
    return html.split("<html lang=\"", 1)[1].split('"', 1)[0]


def test_default_language_is_simplified_chinese(client):
    assert html_lang(client) == "zh-CN"


def test_switch_persists_across_requests_and_returns_to_the_page(client):
    factories.catalog_with_items("371321", 2026)
    token = csrf_token(client, "/")
    response = client.post("/language/en", data={"csrf_token": token, "next": "/counties/371321?q=养老"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/counties/371321?q=%E5%85%BB%E8%80%81"
    for path in ("/", "/counties/371321", "/account/login", "/"):
        assert html_lang(client, path) == "en", path
    # The switch back offers Chinese, and switching back works.
    assert 'lang="zh"' in client.get("/").get_data(as_text=True)
    client.post("/language/zh", data={"csrf_token": csrf_token(client, "/")})
    assert html_lang(client) == "zh-CN"


def test_switch_is_per_browser_session(app, client):
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    assert html_lang(client) == "en"
    assert html_lang(app.test_client()) == "zh-CN"


def test_unknown_language_and_missing_csrf_change_nothing(client):
    client.post("/language/xx", data={"csrf_token": csrf_token(client, "/")})
    assert html_lang(client) == "zh-CN"
    response = client.post("/language/en")
    assert response.status_code == 400
    assert html_lang(client) == "zh-CN"


def test_offsite_next_is_reduced_to_a_local_path(client):
    token = csrf_token(client, "/")
    response = client.post("/language/en", data={"csrf_token": token, "next": "https://evil.example.com/x?y=1"})
    assert response.headers["Location"] == "/x?y=1"
    response = client.post("/language/en", data={"csrf_token": token, "next": "//evil.example.com/"})
    assert not response.headers["Location"].startswith("//")


def test_logged_in_users_choice_is_stored_on_the_account(app, client, session):
    factories.officer(email="o@example.com")
    login(client, "o@example.com", factories.PASSWORD)
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    session.expire_all()
    assert account_queries.by_email(session, "o@example.com").locale == "en"
    # A new browser session of the same user starts in English.
    other = app.test_client()
    login(other, "o@example.com", factories.PASSWORD)
    assert html_lang(other) == "en"


# The English catalog compiled from the committed .po (fixtures of test_translations).
from tests.test_translations import english, english_catalog  # noqa: E402,F401


def test_public_catalog_pages_in_english(client, english_catalog):
    catalog = factories.catalog_with_items("371321", 2026)
    item = next(i for i in catalog.items if i.name == "居家养老上门服务")
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    county = client.get("/counties/371321").get_data(as_text=True)
    assert '<html lang="en">' in county
    for english_text in ("Catalog structure", "Supplier types", ">Search<"):
        assert english_text in county, english_text
    assert "目录结构" not in county and "承接主体类型" not in county
    # The data stays as published (in Chinese); the labels around it are English.
    assert "居家养老上门服务" in county
    item_page = client.get(f"/items/{item.id}").get_data(as_text=True)
    assert "服务内容" not in item_page and "社会组织" not in item_page
    results = client.get("/counties/371321?q=养老").get_data(as_text=True)
    assert "Service items found: 2" in results
