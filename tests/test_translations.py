"""The English catalog: complete for the current source, placeholders intact, and
actually used when a visitor switches the language to English.

Messages are re-extracted from the source with the same configuration as
``make messages`` (babel.cfg and the Makefile's ``-k`` keywords), so a string
added without an English translation fails here with its msgid listed.
"""
from __future__ import annotations

import re
import shlex

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.conftest import ROOT, csrf_token

TRANSLATIONS = ROOT / "platform" / "procure" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
BRAND_ZH = "政府购买服务平台"
BRAND_EN = "Government Purchase of Services Platform"
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff01-\uff5e]")
# %(name)s style and bare %s / %d conversions; "%%" is a literal percent sign.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _makefile_keywords() -> list[str]:
    """The ``-k`` options of the ``messages`` recipe, so the test extracts exactly
    what ``make messages`` extracts."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^messages:.*?\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no `messages` target in the Makefile"
    words = shlex.split(recipe.group(1).replace("\\\n", " "))
    keywords = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "-k"]
    assert "_l" in keywords, "make messages must extract the lazy_gettext alias _l"
    return keywords


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    args = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(pot)]
    for keyword in _makefile_keywords():
        args += ["-k", keyword]
    CommandLineInterface().run([*args, str(ROOT)])
    with pot.open("rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def english():
    with EN_PO.open("rb") as fh:
        return read_po(fh, locale="en")


def _key(message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def _forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def _placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


def test_extraction_finds_python_template_and_lazy_strings(extracted):
    paths = {path for message in extracted for path, _line in message.locations}
    assert any("platform/procure/" in path for path in paths)
    assert any("templates/" in path for path in paths)
    # A lazy_gettext (_l) string of a form and a template string.
    assert "记住我" in extracted and BRAND_ZH in extracted


def test_every_extracted_message_has_an_english_translation(extracted, english):
    missing, fuzzy = [], []
    for message in extracted:
        if not message.id:
            continue
        translated = english.get(message.id, message.context)
        if translated is None or not all(form.strip() for form in _forms(translated)):
            missing.append(_key(message))
        elif translated.fuzzy:
            fuzzy.append(_key(message))
    assert not missing, "msgids without an English translation (run `make messages`, then translate " \
        f"{EN_PO.relative_to(ROOT)}):\n" + "\n".join(missing)
    assert not fuzzy, "fuzzy English translations (check them, then remove the fuzzy flag):\n" + "\n".join(fuzzy)


def test_catalog_header_declares_english_plurals(english):
    assert str(english.locale) == "en"
    assert english.num_plurals == 2


def test_each_message_is_translated_once():
    """The catalog is union-merged between branches: a message appended on two
    branches must not stay twice (the second silently wins at compile time)."""
    text = EN_PO.read_text(encoding="utf-8")
    ids = re.findall(r'^msgid ((?:".*"\n)+)', text + "\n", flags=re.M)
    seen, twice = set(), []
    for raw in ids:
        msgid = "".join(re.findall(r'"(.*)"', raw))
        if msgid and msgid in seen:
            twice.append(msgid)
        seen.add(msgid)
    assert twice == []


def test_translations_keep_the_placeholders_of_their_msgid(english):
    wrong = []
    for message in english:
        if not message.id or not message.string:
            continue
        if isinstance(message.id, tuple):
            singular, plural = (_placeholders(text) for text in message.id)
            forms = _forms(message)
            # Singular forms may spell out the number ("one item"); the plural forms may not.
            if not set(_placeholders(forms[0])) <= set(singular) | set(plural):
                wrong.append((message.id[0], forms[0]))
            wrong += [(message.id[1], form) for form in forms[1:] if _placeholders(form) != plural]
        elif _placeholders(message.string) != _placeholders(message.id):
            wrong.append((message.id, message.string))
    assert not wrong, "placeholders differ:\n" + "\n".join(f"{i!r} -> {s!r}" for i, s in wrong)


@pytest.fixture
def english_catalog(app, tmp_path, english, monkeypatch):
    """The current English .po compiled into a temporary directory and used by the
    app, so this test does not depend on `make translations` having run."""
    mo = tmp_path / "en" / "LC_MESSAGES" / "messages.mo"
    mo.parent.mkdir(parents=True)
    with mo.open("wb") as fh:
        write_mo(fh, english)
    config = app.extensions["babel"]
    monkeypatch.setattr(config, "translation_directories", [str(tmp_path)])
    monkeypatch.setattr(config.instance.domain_instance, "cache", {})


def _switch(client, code: str, next_path: str = "/") -> None:
    token = csrf_token(client, "/")
    response = client.post(f"/language/{code}", data={"csrf_token": token, "next": next_path})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(next_path)


def test_switching_to_english_and_back(client, english_catalog):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and BRAND_ZH in html and BRAND_EN not in html

    _switch(client, "en")
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert BRAND_EN in html and BRAND_ZH not in html
    # Nothing on the home page is left in Chinese but the name of the other language.
    visible = re.sub(r"<[^>]+>", " ", html).replace("中文", "")
    assert not CJK.findall(visible), [line.strip() for line in visible.splitlines() if CJK.search(line)]

    # Form labels are lazy strings, translated when the form renders.
    login = client.get("/account/login").get_data(as_text=True)
    assert "Remember me" in login and "记住我" not in login

    _switch(client, "zh")
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and BRAND_ZH in html and BRAND_EN not in html


def test_unknown_language_is_ignored(client, english_catalog):
    _switch(client, "fr")
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and BRAND_ZH in html
