"""Which catalog applies when: a catalog applies to its year.

The current catalog of a county is its published version for the current year,
the year being that of today in the configured timezone (``TIMEZONE``); a
published catalog for a later year is the next year's catalog, in force from
1 January of its year. Nothing changes at New Year but the date: the year is
computed on each request, no job flips a flag.
"""
from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _

from procure import timeutil
from procure.catalog.models import Catalog, CatalogStatus

CURRENT, NEXT, PAST, SUPERSEDED, DRAFT = "current", "next", "past", "superseded", "draft"


def now() -> datetime:
    """The clock of this module (tests move it across New Year)."""
    return timeutil.utcnow()


def today(tz: str) -> date:
    """Today's date in ``tz``."""
    return timeutil.localtime(now(), tz).date()


def this_year() -> int:
    """The current year in the application's configured timezone."""
    return today(current_app.config["TIMEZONE"]).year


def period(catalog: Catalog, year: int) -> str:
    """Where ``catalog`` stands in ``year``: current, next (a later year's),
    past (an earlier year's published version), superseded or draft."""
    if catalog.status == CatalogStatus.DRAFT:
        return DRAFT
    if catalog.status == CatalogStatus.SUPERSEDED:
        return SUPERSEDED
    if catalog.year == year:
        return CURRENT
    return NEXT if catalog.year > year else PAST


def period_label(catalog: Catalog, year: int | None = None) -> str:
    """现行 / 下一年度目录（自 2028 年 1 月 1 日起施行）/ 往年目录 / 已被替代 / 草稿."""
    which = period(catalog, this_year() if year is None else year)
    if which == CURRENT:
        return _("现行")
    if which == NEXT:
        return _("下一年度目录（自 %(year)d 年 1 月 1 日起施行）", year=catalog.year)
    if which == PAST:
        return _("往年目录")
    if which == SUPERSEDED:
        return _("已被替代")
    return _("草稿")
