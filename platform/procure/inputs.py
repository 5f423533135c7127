"""Hostile input, refused as a class before any view runs.

- ``<int:...>`` in every route is ``BoundedIntConverter``: a number beyond the
  range of the database's integer columns (or negative) does not match the
  route, so the answer is 404 before anything reaches the database.
- ``reject_hostile_request`` (a ``before_request`` hook): a NUL byte or other
  control character in the path, a query parameter (name or value) or a form
  field, and bytes that are not UTF-8 in the path or query string, get 400 with
  the normal error page. PostgreSQL refuses NUL in text, so such a value
  would otherwise fail deep inside a query.
- ``int_arg`` / ``parse_int``: an integer query parameter or form field
  parsed safely and within range.
"""
from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, request
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

# PostgreSQL INTEGER (and SQLite's and every id column's) upper bound.
INT_MAX = 2**31 - 1
# Page numbers: far beyond any real list, small enough for any OFFSET.
PAGE_MAX = 100_000

# NUL and the other C0 controls except tab, line feed and carriage return
# (those may legitimately appear in a textarea), and DEL.
_FORBIDDEN_IN_FORMS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a path or a query parameter, no control character at all.
_FORBIDDEN_IN_URLS = re.compile(r"[\x00-\x1f\x7f]")


class BoundedIntConverter(IntegerConverter):
    """Werkzeug's ``int`` converter limited to 0..INT_MAX unless told otherwise."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 (Werkzeug's names)
        super().__init__(
            map,
            fixed_digits=fixed_digits,
            min=min if min is not None else (-INT_MAX - 1 if signed else 0),
            max=max if max is not None else INT_MAX,
            signed=signed,
        )


def _bad_request(message) -> None:
    abort(400, description=str(message))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def reject_hostile_request() -> None:
    """``before_request``: 400 for control characters or bytes that are not UTF-8."""
    raw_path = request.environ.get("PATH_INFO", "").encode("latin-1", "replace")
    if not _is_utf8(raw_path) or not _is_utf8(unquote_to_bytes(request.query_string)):
        _bad_request(_l("网址中含有无效的字符编码。"))
    if _FORBIDDEN_IN_URLS.search(request.path):
        _bad_request(_l("网址中含有无效字符。"))
    for name, value in request.args.items(multi=True):
        if _FORBIDDEN_IN_URLS.search(name) or _FORBIDDEN_IN_URLS.search(value):
            _bad_request(_l("网址中含有无效字符。"))
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for name, value in request.form.items(multi=True):
            if _FORBIDDEN_IN_FORMS.search(name) or _FORBIDDEN_IN_FORMS.search(value):
                _bad_request(_l("提交的内容中含有无效字符，没有保存任何内容。"))


def parse_int(raw: str | None, *, minimum: int = 0, maximum: int = INT_MAX) -> int | None:
    """``raw`` (a query parameter, a hidden form field) as an int in
    [minimum, maximum], or None (ASCII digits only: ``int()`` also takes
    "１２" and "1_000")."""
    if raw is None:
        return None
    raw = raw.strip()
    if not re.fullmatch(r"-?[0-9]{1,12}", raw):
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


def int_arg(name: str, default: int | None = None, *, minimum: int = 0, maximum: int = INT_MAX) -> int | None:
    """The query parameter ``name`` as an int in [minimum, maximum]: ``default``
    when absent or empty, None when present but not such a number."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    return parse_int(raw, minimum=minimum, maximum=maximum)


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: the converter is bound when a rule is added."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(reject_hostile_request)
