"""Email is a web page too: every email kind (each folder of templates/email/),
rendered with markup in every value the templates take, gives HTML that parses
to the same text as with a harmless value and carries no injected element,
and a plain-text part with the characters as typed (no HTML entities)."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import meta

from procure.notifications.services import render_email
from procure.organizations.models import DecisionKind

EMAIL_DIR = Path(__file__).resolve().parents[2] / "templates" / "email"
KINDS = sorted(p.name for p in EMAIL_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))

HOSTILE = 'ACME</title><a href="http://evil.example/x">点这里</a><!-- x & "q" \'s <b>'
BENIGN = "ACME"

# Values the platform itself builds (never typed by a user), with a type the
# templates rely on; every other variable a template reads gets the markup.
PLATFORM_VALUES = {
    "hours": 48,
    "minutes": 60,
    "in_inbox": True,
    "flagged": True,
    "base_url": "https://procure.example",
    "link_url": "https://procure.example/organizations/invitations/t0k3n?a=1&b=2",
    "url": "https://procure.example/account/confirm/t0k3n",
    "reset_url": "https://procure.example/account/reset",
    "unsubscribe_url": "https://procure.example/unsubscribe/t0k3n.x-y_z",
}
# Lists the digests take: one entry whose user-typed fields carry the value.
LIST_VALUES = {
    "subjects": lambda v: [{"title": v, "link": "https://procure.example/tenders/1", "deadline": v}],
    "items": lambda v: [{"label": v, "count": 2, "link": "https://procure.example/manage/organizations"}],
}
# Computed by render_email from the .txt parts (tested through them).
DERIVED = {"subject", "message_text"}


def _variables_of(env, kind: str) -> set[str]:
    names: set[str] = set()
    sources = [EMAIL_DIR / "_layout.html", EMAIL_DIR / "_layout.txt", *sorted((EMAIL_DIR / kind).glob("*"))]
    for path in sources:
        names |= meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8")))
    return names - set(env.globals) - {"_", "gettext", "ngettext", "current_locale"} - DERIVED


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple]] = []
        self.comments: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(attrs)))

    def handle_comment(self, data):
        self.comments.append(data)

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _cases():
    for kind in KINDS:
        decisions = [None]
        text = " ".join(p.read_text(encoding="utf-8") for p in (EMAIL_DIR / kind).glob("*"))
        if "decision" in text:
            decisions = [d.value for d in DecisionKind]
        for decision in decisions:
            for locale in ("zh", "en"):
                yield pytest.param(kind, decision, locale, id=f"{kind}-{decision or 'any'}-{locale}")


def test_every_email_kind_is_covered():
    assert {"account_confirm", "org_decision", "org_invitation", "org_review_request", "password_reset",
            "account_exists"} <= set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_no_html_template_includes_a_text_template(app, kind):
    """Jinja does not autoescape a .txt template, so its output would go into the
    HTML raw: the HTML parts never include or import one."""
    env = app.jinja_env
    for path in (EMAIL_DIR / kind).glob("*.html"):
        referenced = set(meta.find_referenced_templates(env.parse(path.read_text(encoding="utf-8"))))
        assert not {name for name in referenced if name and name.endswith(".txt")}, path


def _render(kind, decision, locale, value):
    from flask import current_app

    names = _variables_of(current_app.jinja_env, kind)
    variables = {name: PLATFORM_VALUES.get(name, value) for name in names}
    variables.update({name: build(value) for name, build in LIST_VALUES.items() if name in names})
    if decision is not None:
        variables["decision"] = decision
    return render_email(kind, variables, locale=locale)


@pytest.mark.parametrize("kind,decision,locale", list(_cases()))
def test_markup_in_every_value_is_text_in_html_and_raw_in_plain_text(app_ctx, kind, decision, locale):
    subject, text, html = _render(kind, decision, locale, HOSTILE)
    b_subject, b_text, b_html = _render(kind, decision, locale, BENIGN)

    hostile_page, benign_page = _parse(html), _parse(b_html)
    # No injected element, attribute or comment: the same tags as with a harmless value.
    assert hostile_page.tags == benign_page.tags
    assert hostile_page.comments == benign_page.comments == []
    # The same text, with the markup as visible characters.
    assert "".join(hostile_page.text) == "".join(benign_page.text).replace(BENIGN, HOSTILE)

    # Plain text stays plain: the characters as typed, no entities.
    assert text == b_text.replace(BENIGN, HOSTILE)
    assert subject == b_subject.replace(BENIGN, HOSTILE)
    for entity in ("&lt;", "&gt;", "&amp;", "&#34;", "&#39;", "&quot;"):
        assert entity not in text and entity not in subject
