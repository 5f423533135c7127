"""Accessibility rules of the base template and the form macros, in the HTML
every page gets (the browser side is tests/browser/test_accessibility.py):
skip link and main landmark, form errors tied to their fields with a summary,
lang="zh-CN" on Chinese data of English pages, and the 大字版 switch."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from procure.accounts.models import User
from procure.catalog.models import Category, Item
from tests import factories
from tests.conftest import csrf_token, login
from tests.organizations.conftest import fast_passwords, post_registration, registration_form  # noqa: F401


def html_of(response) -> str:
    return response.get_data(as_text=True)


def html_class(html: str) -> str:
    match = re.search(r"<html [^>]*>", html)
    found = re.search(r'class="([^"]*)"', match.group(0))
    return found.group(1) if found else ""


def tag_with_id(html: str, element_id: str) -> str:
    match = re.search(rf'<[a-z]+ [^>]*\bid="{re.escape(element_id)}"[^>]*>', html)
    assert match, f"no element #{element_id}"
    return match.group(0)


# --- page structure ---------------------------------------------------------------


def test_skip_link_is_the_first_link_and_targets_main(client):
    html = html_of(client.get("/"))
    body = html.split("<body>", 1)[1]
    first_link = re.search(r"<a [^>]*>", body).group(0)
    assert 'href="#main"' in first_link and "skip-link" in first_link
    main = tag_with_id(html, "main")
    assert main.startswith("<main") and 'tabindex="-1"' in main
    assert '<script src="/static/procure.js' in html  # a file: the CSP forbids inline script


# --- form errors ------------------------------------------------------------------


def test_registration_errors_are_tied_to_their_fields_and_summarised(client):
    factories.officer("371321")
    response = post_registration(client, registration_form(name="", budget_funded=None))
    html = html_of(response)
    assert response.status_code == 200

    name = tag_with_id(html, "name")
    assert 'aria-invalid="true"' in name and 'aria-describedby="name-error"' in name
    assert re.search(r'id="name-error"[^>]*>\s*<div>请输入机构名称。</div>', html)
    # A radio group: a fieldset named by its legend, each option marked.
    assert re.search(r'<fieldset class="radio-group[^"]*">\s*<legend[^>]*>本机构的经费是否由财政拨款保障？</legend>', html)
    for option in ("budget_funded-0", "budget_funded-1"):
        assert 'aria-describedby="budget_funded-error"' in tag_with_id(html, option)
    # Fields without errors are not marked.
    assert "aria-invalid" not in tag_with_id(html, "address")
    assert 'aria-describedby="credit_code-help"' in tag_with_id(html, "credit_code")

    summary = html.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert 'href="#name"' in summary and "机构名称：请输入机构名称。" in summary
    assert 'href="#budget_funded-0"' in summary
    assert "本机构的经费是否由财政拨款保障？ 请回答本机构是否由财政拨款保障。" in summary  # no colon after a question
    assert html.index('<main') < html.index('id="error-summary"') < html.index('<form method="post" enctype')
    assert 'role="alert"' in tag_with_id(html, "error-summary")


def test_pages_without_errors_have_no_summary_and_no_invalid_fields(client):
    html = html_of(client.get("/organizations/register"))
    assert "error-summary" not in html.split("</head>", 1)[1].replace("procure.js", "")
    assert "aria-invalid" not in html


def test_hand_written_fields_follow_the_same_rule(client, session):
    """The catalog item form renders its fields itself (a table of checkboxes)."""
    officer = factories.officer("371321")
    draft = factories.catalog_with_items("371321", 2027, publish=False)
    item = session.scalars(
        select(Item).join(Category, Item.category_id == Category.id).where(Category.catalog_id == draft.id)
    ).first()
    login(client, officer.email, factories.PASSWORD)
    path = f"/manage/catalogs/{draft.id}/items/{item.id}/edit"
    html = html_of(client.post(path, data={"csrf_token": csrf_token(client, path), "name": "", "service_content": "x"}))
    assert 'aria-invalid="true"' in tag_with_id(html, "name")
    assert 'id="name-error"' in html
    assert 'aria-describedby="undertaker_types-error"' in tag_with_id(html, "undertaker_types-0")
    summary = html.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert 'href="#name"' in summary and 'href="#undertaker_types-0"' in summary


# --- lang on Chinese data -----------------------------------------------------------


def test_chinese_data_is_marked_on_english_pages_only(client):
    factories.organization("371321", status="verified")
    zh = html_of(client.get("/organizations"))
    assert 'lang="zh-CN"' not in zh.split("<body>", 1)[1]
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    en = html_of(client.get("/organizations"))
    assert '<span lang="zh-CN">沂南县</span>' in en
    assert re.search(r'<span lang="zh-CN">测试[^<]+</span>', en)  # the organization's name
    # A select of counties (data) is marked as a whole; its label is English.
    register = html_of(client.get("/organizations/register"))
    assert 'lang="zh-CN"' in tag_with_id(register, "county")


def test_data_is_escaped_when_marked(client, session):
    org = factories.organization("371321", status="verified")
    org.name = "<b>恶意</b>机构"
    session.commit()
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    html = html_of(client.get(f"/organizations/{org.id}"))
    assert "<b>恶意</b>" not in html and '<span lang="zh-CN">&lt;b&gt;恶意&lt;/b&gt;机构</span>' in html


# --- 大字版 -------------------------------------------------------------------------


def test_visitor_switch_is_kept_in_a_cookie(app, client):
    assert "text-large" not in html_class(html_of(client.get("/")))
    response = client.post("/text-size", data={"csrf_token": csrf_token(client, "/"), "size": "large",
                                                "next": "/organizations"})
    assert response.status_code == 302 and response.headers["Location"] == "/organizations"
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("text_size=")]
    assert cookie.startswith("text_size=large;") and "HttpOnly" in cookie and "Max-Age=31536000" in cookie
    for path in ("/", "/organizations", "/account/login"):
        html = html_of(client.get(path))
        assert "text-large" in html_class(html), path
        assert 'aria-pressed="true"' in html
    client.post("/text-size", data={"csrf_token": csrf_token(client, "/"), "size": "normal"})
    html = html_of(client.get("/"))
    assert "text-large" not in html_class(html) and 'aria-pressed="false"' in html


def test_signed_in_user_keeps_the_setting_in_the_account(app, client, session):
    officer = factories.officer(email="o@example.com")
    login(client, "o@example.com", factories.PASSWORD)
    client.post("/text-size", data={"csrf_token": csrf_token(client, "/"), "size": "large"})
    session.expire_all()
    assert session.get(User, officer.id).large_text is True
    # Another browser (no cookie) gets it once signed in, not before.
    other = app.test_client()
    assert "text-large" not in html_class(html_of(other.get("/")))
    login(other, "o@example.com", factories.PASSWORD)
    assert "text-large" in html_class(html_of(other.get("/")))
    # For a signed-in user the account decides, whatever a cookie says.
    other.post("/text-size", data={"csrf_token": csrf_token(other, "/"), "size": "normal"})
    session.expire_all()
    assert session.get(User, officer.id).large_text is False
    client.set_cookie("text_size", "large")
    assert "text-large" not in html_class(html_of(client.get("/")))


@pytest.mark.parametrize("size", ["", "huge", "large'><script>"])
def test_unknown_size_is_refused(client, size):
    response = client.post("/text-size", data={"csrf_token": csrf_token(client, "/"), "size": size})
    assert response.status_code == 400 and "text_size=" not in " ".join(response.headers.getlist("Set-Cookie"))
    assert "text-large" not in html_class(html_of(client.get("/")))


def test_switch_returns_only_to_this_site(client):
    response = client.post("/text-size", data={"csrf_token": csrf_token(client, "/"), "size": "large",
                                                "next": "//evil.example.com/x?y=1"})
    assert response.headers["Location"] == "/x?y=1"


def test_switch_needs_a_csrf_token(client):
    response = client.post("/text-size", data={"size": "large"})
    assert response.status_code == 400 and "text_size=" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_field_rendered_under_its_own_id_keeps_label_and_message(app):
    """One form repeated on a page gives each copy its own id (render_field(..., id=...))."""
    from flask import render_template_string
    from flask_wtf import FlaskForm
    from wtforms import TextAreaField
    from wtforms.validators import DataRequired

    class ReasonForm(FlaskForm):
        reason = TextAreaField("理由", validators=[DataRequired("请填写理由。")])

    with app.test_request_context(method="POST", data={"reason": ""}):
        form = ReasonForm(meta={"csrf": False})
        assert not form.validate()
        html = render_template_string(
            "{% from 'bootstrap5/form.html' import render_field %}{{ render_field(form.reason, id='reason-7') }}",
            form=form,
        )
    assert '<label class="form-label" for="reason-7">' in html
    field = tag_with_id(html, "reason-7")
    assert 'aria-invalid="true"' in field and 'aria-describedby="reason-7-error"' in field
    assert 'id="reason-7-error"' in html and "请填写理由。" in html
