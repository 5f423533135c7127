"""A value worked out once per request and language: kept on Flask-Babel's
request context next to the locale it was worked out for (``force_locale`` and
``refresh`` give a new locale object, hence a new value)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import g

T = TypeVar("T")


def per_locale(name: str, compute: Callable[[], T]) -> T:
    """``compute()``, kept as ``name`` for this request's current locale; outside
    a request (or before Flask-Babel resolved the locale) computed each time."""
    try:
        ctx = g._flask_babel
        memo = getattr(ctx, name)
        if memo[0] is ctx.babel_locale:
            return memo[1]
    except (AttributeError, RuntimeError):  # first look-up, or no app context
        pass
    value = compute()
    try:
        ctx = g._flask_babel
        locale = ctx.babel_locale
    except (AttributeError, RuntimeError):
        return value
    if locale is not None:
        setattr(ctx, name, (locale, value))
    return value
