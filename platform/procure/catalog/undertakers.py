"""Undertaker types (承接主体类型): labels, and the cell text of county tables.

A county table lists the eligible undertakers of an item in one cell, e.g.
``社会组织；企业（律师事务所）``: several types separated by ；, ; 、 or ，, each with an
optional note in parentheses. :func:`parse_cell` reads such a cell (tolerating
full-/half-width punctuation, stray spaces and common synonyms), :func:`format_cell`
writes one back in the canonical form, so that ``parse_cell(format_cell(t, n))``
gives ``(t, n, [])``.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from procure.catalog.models import UndertakerType

T = UndertakerType

# Display labels (translatable), in the canonical order of the enum.
LABELS: dict[str, str] = {
    T.SOCIAL_ORGANIZATION.value: _l("社会组织"),
    T.MASS_ORGANIZATION.value: _l("群团组织"),
    T.ENTERPRISE.value: _l("企业"),
    T.PUBLIC_INSTITUTION.value: _l("事业单位（公益二类）"),
    T.VILLAGE_ORGANIZATION.value: _l("村级组织"),
    T.RURAL_COLLECTIVE.value: _l("农村集体经济组织"),
    T.INDIVIDUAL.value: _l("自然人"),
}

# The names written in files: fixed Chinese, whatever the UI language.
CANONICAL: dict[str, str] = {
    T.SOCIAL_ORGANIZATION.value: "社会组织",
    T.MASS_ORGANIZATION.value: "群团组织",
    T.ENTERPRISE.value: "企业",
    T.PUBLIC_INSTITUTION.value: "事业单位（公益二类）",
    T.VILLAGE_ORGANIZATION.value: "村级组织",
    T.RURAL_COLLECTIVE.value: "农村集体经济组织",
    T.INDIVIDUAL.value: "自然人",
}

ORDER: list[str] = list(CANONICAL)

_SYNONYMS: dict[str, list[str]] = {
    T.SOCIAL_ORGANIZATION.value: [
        "社会组织", "社会团体", "社团", "民办非企业单位", "民办非企业", "民非", "社会服务机构",
        "基金会", "依法登记的社会组织", "社会工作服务机构",
    ],
    T.MASS_ORGANIZATION.value: ["群团组织", "群团", "群团组织所属单位"],
    T.ENTERPRISE.value: ["企业", "公司", "企业法人"],
    T.PUBLIC_INSTITUTION.value: [
        "事业单位(公益二类)", "事业单位", "公益二类事业单位", "公益二类", "事业单位(生产经营类)",
        "生产经营类事业单位", "从事生产经营活动的事业单位",
    ],
    T.VILLAGE_ORGANIZATION.value: [
        "村级组织", "村(居)委会", "村居委会", "村(居)民委员会", "村委会", "居委会", "村民委员会",
        "居民委员会", "基层群众性自治组织", "村(社区)组织",
    ],
    T.RURAL_COLLECTIVE.value: [
        "农村集体经济组织", "村集体经济组织", "集体经济组织", "农村集体经济合作社", "村股份经济合作社",
    ],
    T.INDIVIDUAL.value: ["自然人", "个人", "具备条件的个人", "符合条件的自然人"],
}

_LOOKUP: dict[str, str] = {}
for _value, _names in _SYNONYMS.items():
    for _name in _names:
        _LOOKUP[unicodedata.normalize("NFKC", _name).replace(" ", "")] = _value

# Inside parentheses after 事业单位: the class that makes it eligible, not a note.
_INSTITUTION_CLASSES = ("公益二类", "生产经营类")
_INELIGIBLE_CLASSES = ("公益一类",)
_OPEN = "(（"
_CLOSE = ")）"
_SEPARATORS = ";；,，、"
_SPACE = re.compile(r"\s+")


def _key(text: str) -> str:
    """Lookup form of a type name: NFKC (full-width （） become ()), no whitespace."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


def _split(text: str) -> list[str]:
    """Split on separators outside parentheses (a note may itself contain 、)."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        if char in _SEPARATORS and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _parse_fragment(fragment: str) -> tuple[str | None, str]:
    """(type value or None, note) of one fragment like ``企业（律师事务所）``."""
    value = _LOOKUP.get(_key(fragment))
    if value is not None:
        return value, ""
    if fragment[-1] not in _CLOSE:
        return None, ""
    # The longest known name followed by a parenthesised note: 事业单位（公益二类）（检测机构）.
    for start in sorted((i for i, c in enumerate(fragment) if c in _OPEN and i > 0), reverse=True):
        value = _LOOKUP.get(_key(fragment[:start]))
        if value is not None:
            note = fragment[start + 1 : -1].strip()
            break
    else:
        return None, ""
    if value == T.PUBLIC_INSTITUTION.value:
        if _key(note).startswith(_INELIGIBLE_CLASSES):
            return None, ""
        for cls in _INSTITUTION_CLASSES:
            if note.startswith(cls):
                note = note[len(cls) :].lstrip(_SEPARATORS + ":： ")
                break
    return value, note


def parse_cell(text: str | None) -> tuple[list[str], dict[str, str], list[str]]:
    """Read an 承接主体类型 cell.

    Returns ``(types, notes, unknown)``: the sorted list of UndertakerType values, the
    per-type notes (e.g. ``{"enterprise": "律师事务所"}``; two notes for the same type
    are joined with 、), and the fragments that name no known type, as written.
    """
    if text is None:
        return [], {}, []
    types: set[str] = set()
    notes: dict[str, str] = {}
    unknown: list[str] = []
    for fragment in _split(str(text)):
        value, note = _parse_fragment(fragment)
        if value is None:
            unknown.append(fragment)
            continue
        types.add(value)
        if note:
            if notes.get(value) and note not in notes[value].split("、"):
                notes[value] = f"{notes[value]}、{note}"
            else:
                notes.setdefault(value, note)
    return sorted(types), notes, unknown


def format_cell(types, notes: dict[str, str] | None = None) -> str:
    """The canonical cell text: ``社会组织；企业（律师事务所）`` (types in enum order)."""
    notes = notes or {}
    parts = []
    for value in sorted(set(types), key=lambda v: ORDER.index(v) if v in ORDER else len(ORDER)):
        name = CANONICAL.get(value, value)
        note = (notes.get(value) or "").strip()
        parts.append(f"{name}（{note}）" if note else name)
    return "；".join(parts)


def describe(types, notes: dict[str, str] | None = None) -> str:
    """Display text in the UI language: ``社会组织、企业（律师事务所）``."""
    notes = notes or {}
    return _describe(str(get_locale()), tuple(types),
                     tuple(sorted((str(k), str(v)) for k, v in notes.items() if isinstance(v, str))))


@functools.lru_cache(maxsize=4096)
def _describe(locale: str, types: tuple, notes: tuple) -> str:
    """``describe`` in ``locale`` (the current one: the key of the memo; a page
    describes the same few combinations of types many times)."""
    notes = dict(notes)
    parts = []
    for value in sorted(set(types), key=lambda v: ORDER.index(v) if v in ORDER else len(ORDER)):
        label = str(LABELS.get(value, value))
        note = (notes.get(value) or "").strip()
        parts.append(str(_l("%(type)s（%(note)s）", type=label, note=note)) if note else label)
    # The list separator is language-dependent too (、 in Chinese, ", " in English).
    return str(_l("、")).join(parts)
