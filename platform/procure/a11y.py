"""Accessibility helpers for the templates (WCAG 2.1 AA, GB/T 37668-2019).

- ``zh`` (filter) and ``zh_lang()``: data stored in Chinese (county names,
  catalog entries, organization names) shown on a page in another language is
  marked ``lang="zh-CN"`` (WCAG 3.1.2), so screen readers switch voices.
- ``invalid_attrs(field)``: the attributes that tie a field with errors to its
  message (``aria-invalid``, ``aria-describedby`` to ``<field id>-error``).
- ``forms_with_errors()``: every form of the page that failed validation; the
  base template lists their errors in one summary at the top of ``<main>``.
"""
from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_wtf import FlaskForm
from jinja2 import pass_context
from markupsafe import Markup, escape

from procure.localememo import per_locale

DATA_LANG = "zh-CN"  # the language of the platform's data


def _page_is_chinese() -> bool:
    """The page's language is Chinese; found once per request and locale (a page
    marks hundreds of values with ``zh``)."""
    return per_locale("procure_page_zh", lambda: str(get_locale()).startswith("zh"))


def zh_lang() -> Markup:
    """`` lang="zh-CN"`` for an element holding Chinese data, on pages in another language."""
    return Markup("") if _page_is_chinese() else Markup(f' lang="{DATA_LANG}"')


def zh_kwargs() -> dict:
    """The same as keyword arguments for a WTForms field (a select of counties)."""
    return {} if _page_is_chinese() else {"lang": DATA_LANG}


def content_lang(locale: str | None) -> Markup:
    """`` lang="…"`` for content written in ``locale`` (a stored message),
    when that differs from the page's language."""
    if not locale:
        return Markup("")
    page_zh, content_zh = _page_is_chinese(), locale.startswith("zh")
    if page_zh == content_zh and (content_zh or locale == str(get_locale())):
        return Markup("")
    return Markup(' lang="%s"') % (DATA_LANG if content_zh else locale)


def zh(value) -> Markup:
    """A data value, marked as Chinese on pages in another language."""
    if value is None or value == "":
        return Markup("")
    if _page_is_chinese():
        return escape(value)
    return Markup('<span lang="%s">%s</span>') % (DATA_LANG, value)


def error_id(field, element_id: str | None = None) -> str:
    """The id of the element holding the field's messages; ``element_id``: the
    field rendered under an id of its own (one form repeated on a page)."""
    return f"{element_id or field.id}-error"


def invalid_attrs(field, element_id: str | None = None) -> dict:
    if not field.errors:
        return {}
    return {"aria-invalid": "true", "aria-describedby": error_id(field, element_id)}


def field_anchor(field) -> str:
    """The id the error summary links to: the field, or the first option of a
    group of radio buttons or checkboxes."""
    if field.type == "RadioField" or hasattr(field.widget, "html_tag"):  # ListWidget
        for option in field:
            return option.id
    return field.id


@pass_context
def forms_with_errors(context) -> list[FlaskForm]:
    forms, seen = [], set()
    for value in context.get_all().values():
        if isinstance(value, FlaskForm) and value.errors and id(value) not in seen:
            seen.add(id(value))
            forms.append(value)
    return forms


def error_items(form: FlaskForm) -> list[tuple[str | None, str, str]]:
    """(anchor id or None, field label, message) for each error of ``form``."""
    items = []
    for name, messages in form.errors.items():
        field = form[name] if name and name in form else None
        hidden = field is None or field.type in ("CSRFTokenField", "HiddenField")
        for message in messages if isinstance(messages, (list, tuple)) else [messages]:
            if hidden:
                items.append((None, "", str(message)))
            else:
                # "Label: message" (a label that is a question keeps its mark, no colon after it)
                items.append((field_anchor(field), str(field.label.text).rstrip("：:"), str(message)))
    return items


def init_app(app: Flask) -> None:
    app.add_template_filter(zh, "zh")
    app.add_template_global(zh_lang)
    app.add_template_global(zh_kwargs)
    app.add_template_global(content_lang)
    app.add_template_global(invalid_attrs)
    app.add_template_global(error_id)
    app.add_template_global(forms_with_errors)
    app.add_template_global(error_items)
